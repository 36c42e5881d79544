// What every scenario child reports, and the pieces they share: the check of
// one entry against the ledger, the throttled progress report.
#pragma once

#include "histogram.hpp"
#include "ledger.hpp"
#include "result_pipe.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace streamckpt::bench {

// The entry's seq when its fields are exactly seq=<n>, payload=<payload_bytes
// bytes>; nullopt otherwise.
std::optional<std::uint64_t> check_fields(std::string_view seq_name, std::string_view seq_value,
                                          std::string_view payload_name, std::string_view payload_value,
                                          std::size_t payload_bytes);

// Sends "progress <handled>" at most every 100 ms.
class ProgressReporter {
 public:
  explicit ProgressReporter(const ResultPipe& out) : out_(out) {}
  void update(std::uint64_t handled);

 private:
  const ResultPipe& out_;
  std::chrono::steady_clock::time_point last_{};
};

struct ScenarioTotals {
  double seconds = 0;  // first read to last event handled (and durable)
  std::uint64_t fsyncs = 0;
  const Histogram* latency = nullptr;  // ack-to-durable (or checkpoint store) in µs; none for raw
};

// Sends the ledger's counts, the totals, the peak RSS and "done".
void report_totals(const ResultPipe& out, const Ledger& ledger, const ScenarioTotals& totals);

}  // namespace streamckpt::bench
