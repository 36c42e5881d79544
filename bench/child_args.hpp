// The hidden subcommand `streamckpt-bench --scenario NAME ...`: what one child
// process runs, and how the parent tells it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace streamckpt::bench {

inline constexpr const char* k_raw = "raw-xreadgroup";
inline constexpr const char* k_redis_set = "redis-set-per-event";
inline constexpr const char* k_file_fsync = "file-fsync-per-event";
inline constexpr const char* k_engine = "streamckpt";
inline constexpr const char* k_engine_plain = "streamckpt-plain";
inline constexpr const char* k_resume = "resume";  // internal: one run of the SIGKILL/restart loop
// --consumers Consumers in one process, one stream each: on one shared Store,
// and each with a store of its own.
inline constexpr const char* k_many_shared = "streamckpt-many";
inline constexpr const char* k_many_own = "streamckpt-many-own";

// The child's end of the result pipe (see result_pipe.hpp).
inline constexpr int k_result_fd = 3;

struct ChildArgs {
  std::string scenario;
  std::string redis_url;
  std::string stream;
  std::string group;  // empty: plain XREAD
  std::string consumer;
  std::string dir;       // data directory (engine) or checkpoint file directory
  std::string ckpt_key;  // redis-set-per-event: the key it SETs
  std::uint64_t events = 0;
  std::size_t batch = 100;
  std::size_t payload_bytes = 0;
  std::uint64_t kill_after = 0;  // resume: report "ready" once this many events are durable
  std::size_t consumers = 0;     // the many-consumer scenarios: how many (events is their total)

  std::vector<std::string> to_argv() const;  // "--scenario", NAME, ...
  // `args` starts after "--scenario". Throws UsageError.
  static ChildArgs parse(const std::vector<std::string>& args);
};

// The stream of consumer `i` in the many-consumer scenarios.
std::string many_stream(const std::string& stream, std::size_t i);

// Runs the child's scenario; returns its exit status.
int run_child(const ChildArgs& args);

}  // namespace streamckpt::bench
