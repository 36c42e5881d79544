#include "child_report.hpp"

namespace streamckpt::bench {

std::optional<std::uint64_t> check_fields(std::string_view seq_name, std::string_view seq_value,
                                          std::string_view payload_name, std::string_view payload_value,
                                          std::size_t payload_bytes) {
  if (seq_name != k_seq_field || payload_name != k_payload_field || payload_value.size() != payload_bytes)
    return std::nullopt;
  return parse_seq(seq_value);
}

void ProgressReporter::update(std::uint64_t handled) {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  out_.send("progress", handled);
}

void report_totals(const ResultPipe& out, const Ledger& ledger, const ScenarioTotals& totals) {
  out.send("handled", ledger.handled());
  out.send("lost", ledger.lost());
  out.send("duplicates", ledger.duplicates());
  out.send("out_of_order", ledger.out_of_order());
  out.send("foreign", ledger.foreign());
  out.send("seconds", totals.seconds);
  out.send("fsyncs", totals.fsyncs);
  if (totals.latency && totals.latency->count() > 0) {
    out.send("latency_p50_us", totals.latency->quantile(0.50));
    out.send("latency_p99_us", totals.latency->quantile(0.99));
    out.send("latency_p999_us", totals.latency->quantile(0.999));
  }
  out.send("rss_kib", peak_rss_kib());
  out.send("done", std::uint64_t{1});
}

}  // namespace streamckpt::bench
