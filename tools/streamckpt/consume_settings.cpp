#include "consume_settings.hpp"

#include "args.hpp"
#include "commands.hpp"
#include "redis_auth.hpp"
#include "sink.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

namespace streamckpt::cli {
namespace {

using std::chrono::milliseconds;

// Upper bounds of the millisecond options: far beyond any sensible setting,
// and small enough that no deadline computed from them overflows the clock.
constexpr std::uint64_t k_hour_ms = 3600 * 1000;
constexpr std::uint64_t k_max_ms = k_max_option_duration.count();  // the library's bound: 365 days

}  // namespace

ConsumeSettings parse_consume_settings(const std::vector<std::string>& argv) {
  const Args args(argv,
                  {"redis",
                   "stream",
                   "group",
                   "consumer",
                   "data-dir",
                   "sink",
                   "start",
                   "batch",
                   "max-events",
                   "idle-exit-ms",
                   "block-ms",
                   "max-in-flight",
                   "startup-timeout-ms",
                   "command-timeout-ms",
                   "connect-timeout-ms",
                   "on-regressed",
                   "flush-ms",
                   "lease-ttl-ms",
                   "claim-idle-ms",
                   "max-deliveries",
                   "dead-letter",
                   "metrics-interval-ms",
                   "tls-ca",
                   "tls-cert",
                   "tls-key",
                   "redis-user",
                   "redis-password-file",
                   "metrics-listen",
                   "metrics-file",
                   "metrics-file-ms"},
                  {"metrics", "wait-lease", "no-lease", "tls-insecure"});
  ConsumeSettings s;
  auto& o = s.options;
  o.redis_url = redis_url_with_credentials(args, args.required("redis"));
  o.key.stream = args.name("stream");
  o.key.group = args.name("group");
  o.key.consumer = args.name("consumer");
  o.data_dir = args.required("data-dir");
  s.sink_spec = args.get_or("sink", "stdout");
  if (!make_sink(s.sink_spec))
    throw UsageError(fmt::format("--sink must be stdout or file:PATH, not '{}'", s.sink_spec));
  const auto start = args.choice_or("start", {"earliest", "latest", "fail"}, "earliest");
  o.start = start == "latest" ? StartPolicy::latest : start == "fail" ? StartPolicy::fail : StartPolicy::earliest;
  const auto regressed = args.choice_or("on-regressed", {"first", "head", "fail"}, "first");
  o.on_regressed = regressed == "head"   ? RegressedPolicy::head
                   : regressed == "fail" ? RegressedPolicy::fail
                                         : RegressedPolicy::first;
  o.flush_interval = milliseconds(args.number_or("flush-ms", 100, 0, k_hour_ms));
  o.lease_ttl = milliseconds(args.number_or("lease-ttl-ms", 10000, k_min_lease_ttl.count(), k_hour_ms));
  o.claim_idle = milliseconds(args.number_or("claim-idle-ms", 60000, 0, k_max_ms));
  o.max_deliveries = args.number_or("max-deliveries", 0, 0, k_deliveries_limit);
  o.dead_letter = args.get_or("dead-letter", "");
  if (args.has("dead-letter") && (o.dead_letter.empty() || o.dead_letter.size() > CheckpointKey::k_max_name_bytes))
    throw UsageError("--dead-letter must name a stream of 1 to 1024 bytes");
  o.wait_lease = args.has("wait-lease");
  o.fencing = !args.has("no-lease");
  // Whatever the mode: a command line that asks for both says nothing clear.
  for (const char* lease_option : {"wait-lease", "lease-ttl-ms"})
    if (!o.fencing && args.has(lease_option))
      throw UsageError(
          fmt::format("--{} and --no-lease contradict each other: --no-lease takes no lease", lease_option));
  o.batch = args.number_or("batch", 100, 1, k_batch_limit);
  s.max_events = args.number_or("max-events", 0, 1);
  s.idle_exit_ms = args.number_or("idle-exit-ms", 0, 1, k_max_ms);
  o.block = milliseconds(args.number_or("block-ms", 1000, 1, k_hour_ms));
  if (s.idle_exit_ms && !args.has("block-ms")) o.block = milliseconds(std::min<std::uint64_t>(s.idle_exit_ms, 1000));
  // Room to read ahead: at least three batches (see ConsumerOptions).
  const auto in_flight_default = std::max<std::uint64_t>(ConsumerOptions{}.max_in_flight, 3 * o.batch);
  o.max_in_flight = args.number_or("max-in-flight", in_flight_default, 1, k_in_flight_limit);
  // Default: keep retrying an unreachable Redis (edge links drop), logging
  // each attempt; --startup-timeout-ms gives up after that long (0: at once).
  o.startup_timeout = args.has("startup-timeout-ms")
                          ? milliseconds(args.number_or("startup-timeout-ms", 0, 0, k_max_ms))
                          : milliseconds::max();
  o.tls_ca = args.get_or("tls-ca", "");
  o.tls_cert = args.get_or("tls-cert", "");
  o.tls_key = args.get_or("tls-key", "");
  o.tls_insecure = args.has("tls-insecure");
  if (o.tls_cert.empty() != o.tls_key.empty()) throw UsageError("--tls-cert and --tls-key go together");
  const bool tls_option = !o.tls_ca.empty() || !o.tls_cert.empty() || o.tls_insecure;
  if (tls_option && o.redis_url.rfind("rediss://", 0) != 0)
    throw UsageError("--tls-ca, --tls-cert, --tls-key and --tls-insecure need a rediss:// URL");
  s.metrics_interval_ms = args.number_or("metrics-interval-ms", 0, 0, k_hour_ms);
  s.metrics = args.has("metrics") || s.metrics_interval_ms > 0;
  if (const auto listen = args.optional("metrics-listen")) s.publishing.listen = parse_listen_address(*listen);
  s.publishing.file = args.get_or("metrics-file", "");
  if (args.has("metrics-file") && s.publishing.file.empty()) throw UsageError("--metrics-file must not be empty");
  s.publishing.file_interval = milliseconds(args.number_or("metrics-file-ms", 15000, 1000, k_hour_ms));
  if (args.has("metrics-file-ms") && !args.has("metrics-file"))
    throw UsageError("--metrics-file-ms needs --metrics-file");
  o.command_timeout = milliseconds(args.number_or("command-timeout-ms", 2000, 1, k_hour_ms));
  o.connect_timeout = milliseconds(args.number_or("connect-timeout-ms", 2000, 1, k_hour_ms));
  o.log = [](std::string_view line) { fmt::print(stderr, "streamckpt: {}\n", line); };
  return s;
}

}  // namespace streamckpt::cli
