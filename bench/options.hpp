// The command line of streamckpt-bench (the user's options, not the hidden
// --scenario subcommand, see child_args.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace streamckpt::bench {

// A bad command line: reported with a hint to --help, exit status 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct BenchOptions {
  std::string redis_url;  // empty: start an embedded redis-server
  std::uint64_t events = 1'000'000;
  std::size_t payload_bytes = 64;
  std::size_t batch = 100;
  unsigned restarts = 20;
  // Rounds of the fast scenarios (raw-xreadgroup, streamckpt,
  // streamckpt-plain), interleaved; the median by events/s is reported. On a
  // shared machine one round is at the mercy of its neighbours.
  unsigned rounds = 3;
  // Consumers of the many-consumer scenarios, one stream each, --events
  // shared out among them; 0 skips them.
  std::size_t consumers = 64;
  bool quick = false;
  bool verbose = false;   // print the consumers' log lines
  std::string json_path;  // empty: no JSON file
  bool help = false;
};

inline constexpr std::size_t k_max_consumers = 1000;

// Throws UsageError.
BenchOptions parse_options(const std::vector<std::string>& args);

// An unsigned decimal number in [min, max]; throws UsageError naming `option`.
std::uint64_t parse_number(const std::string& option, const std::string& text, std::uint64_t min, std::uint64_t max);

// How many events each life of the resume loop makes durable before the
// parent kills it.
std::uint64_t resume_kill_after(const BenchOptions& o);

const char* usage_text();

}  // namespace streamckpt::bench
