#include "options.hpp"

#include <streamckpt/redis_url.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>

namespace streamckpt::bench {

std::uint64_t parse_number(const std::string& option, const std::string& text, std::uint64_t min, std::uint64_t max) {
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end || value < min || value > max)
    throw UsageError(fmt::format("{} expects a whole number from {} to {}, not '{}'", option, min, max, text));
  return value;
}

std::uint64_t resume_kill_after(const BenchOptions& o) {
  return std::clamp<std::uint64_t>(o.events / (4 * (o.restarts + 1ULL)), 1, 1000);
}

namespace {

void check_url(const std::string& url) {
  std::string why;
  auto parsed = RedisUrl::parse(url, &why);
  if (!parsed) throw UsageError(fmt::format("--redis: invalid URL '{}': {}", RedisUrl::redact(url), why));
  // The baselines and the producer use synchronous hiredis without TLS.
  if (parsed->scheme == RedisUrl::Scheme::tls)
    throw UsageError("--redis: rediss:// is not supported by the benchmark (its baselines use plain hiredis)");
}

}  // namespace

BenchOptions parse_options(const std::vector<std::string>& args) {
  BenchOptions o;
  std::optional<std::uint64_t> events;
  std::optional<unsigned> restarts;
  std::optional<unsigned> rounds;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i];
    std::optional<std::string> inline_value;
    if (const auto eq = name.find('='); name.rfind("--", 0) == 0 && eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name.resize(eq);
    }
    auto value = [&]() -> std::string {
      if (inline_value) return *inline_value;
      if (i + 1 >= args.size()) throw UsageError(fmt::format("{} needs a value", name));
      return args[++i];
    };
    auto flag = [&] {
      if (inline_value) throw UsageError(fmt::format("{} takes no value", name));
    };
    if (name == "--help" || name == "-h") {
      flag();
      o.help = true;
    } else if (name == "--quick") {
      flag();
      o.quick = true;
    } else if (name == "--verbose") {
      flag();
      o.verbose = true;
    } else if (name == "--redis") {
      o.redis_url = value();
      check_url(o.redis_url);
    } else if (name == "--events") {
      events = parse_number(name, value(), 1, 100'000'000);
    } else if (name == "--payload-bytes") {
      o.payload_bytes = parse_number(name, value(), 0, 1 << 20);
    } else if (name == "--batch") {
      o.batch = parse_number(name, value(), 1, 100'000);
    } else if (name == "--rounds") {
      rounds = static_cast<unsigned>(parse_number(name, value(), 1, 99));
    } else if (name == "--consumers") {
      o.consumers = parse_number(name, value(), 0, k_max_consumers);
    } else if (name == "--restarts") {
      restarts = static_cast<unsigned>(parse_number(name, value(), 0, 1000));
    } else if (name == "--json") {
      o.json_path = value();
      if (o.json_path.empty()) throw UsageError("--json needs a file name");
    } else if (name == "--scenario") {
      throw UsageError("--scenario is internal and must come first");
    } else {
      throw UsageError(fmt::format("unknown argument '{}'", args[i]));
    }
  }
  o.events = events.value_or(o.quick ? 200'000 : 1'000'000);
  o.restarts = restarts.value_or(o.quick ? 5 : 20);
  o.rounds = rounds.value_or(3);
  if (o.consumers > o.events && !o.help)
    throw UsageError(fmt::format("--consumers {} needs --events {} or more: one entry per consumer at least",
                                 o.consumers, o.consumers));
  // Every life of the resume loop must find entries left to hand out.
  if (o.restarts > 0 && !o.help) {
    const std::uint64_t lives = o.restarts + 1ULL;
    const auto needed = [&](std::uint64_t events) {
      BenchOptions with = o;
      with.events = events;
      return lives * (resume_kill_after(with) + 4 * o.batch);
    };
    if (o.events < needed(o.events)) {
      std::uint64_t enough = o.events;
      while (enough < needed(enough)) enough = needed(enough) + 1;
      throw UsageError(
          fmt::format("--events {} is too few for --restarts {} with --batch {}: each restart needs "
                      "entries left to consume; use --events {} or more, or fewer --restarts",
                      o.events, o.restarts, o.batch, enough));
    }
  }
  return o;
}

const char* usage_text() {
  return R"(usage: streamckpt-bench [options]

Produces --events entries to a fresh Redis stream, then consumes them once per
scenario, each scenario in its own child process:
  raw-xreadgroup        hiredis XREADGROUP COUNT --batch, one XACK per batch,
                        no checkpoint
  redis-set-per-event   the same, plus a synchronous SET of the checkpoint
                        after each event
  file-fsync-per-event  the same, plus write-temp, fsync, rename of a
                        checkpoint file after each event
  streamckpt            the Consumer in group mode with its defaults
  streamckpt-plain      the Consumer in plain XREAD mode
  streamckpt-many       N (--consumers) Consumers as in streamckpt, in one
                        process, each on a stream of its own with
                        --events / N entries, all on one shared Store (one
                        RocksDB, one committer thread: their acks share
                        synced writes)
  streamckpt-many-own   the same consumers, each with a store of its own
The two many-consumer scenarios run once, after the rounds; their entries are
produced to their own streams, apart from the others' stream.
Then it SIGKILLs and restarts the Consumer --restarts times with a
checkpoint in place and times process start to first event. The disk's own
4 KiB write + fdatasync latency in the data directory is measured before the
scenarios and after each round (300 times each), and the samples are pooled:
the reference for the targets. Each time the probe also runs while one
spinning thread per usable CPU keeps them all busy, for comparison: a sync
that completes while no CPU is free waits for one.

Prints a table on stdout: events/s, ratio to raw-xreadgroup, ack-to-durable
latency (engine: ack() until durable_id() covers the event; baselines: the
time to store their checkpoint), fsyncs per event, peak RSS, CPU seconds,
and lost/duplicate counts against the produced sequence numbers; below it,
the engine's own synced writes (p50/p99/max), timed in the same round as its
acks. Below that, the many-consumer scenarios: aggregate events/s, fsyncs
per second and per event, peak RSS and CPU seconds, beside streamckpt's (the
single consumer's) and the targets of a shared store. Exits 1 when a scenario
fails or loses, duplicates or reorders an entry.

options:
  --redis URL          use this server (redis:// or unix://) instead of
                       starting an embedded redis-server on a free loopback
                       port; only the keys the benchmark made are deleted
  --events N           entries to produce, 1 to 100000000 (default 1000000;
                       200000 with --quick)
  --quick              fewer events and restarts (5), for a quick look
  --payload-bytes B    bytes of payload per entry, 0 to 1048576 (default 64)
  --batch N            entries per read, for every scenario, 1 to 100000
                       (default 100)
  --rounds N           rounds of raw-xreadgroup, streamckpt and streamckpt-plain,
                       interleaved, 1 to 99; each row reports the round with
                       the median events/s, the slower middle one when N is
                       even (default 3; the slow baselines run once)
  --consumers N        consumers of streamckpt-many and streamckpt-many-own,
                       0 to 1000 (default 64; 0 skips both); at most --events
  --restarts N         SIGKILL/restart cycles for the resume time, 0 to 1000
                       (default 20; 5 with --quick; 0 skips it); each needs
                       entries left, so --events must be large enough
  --json FILE          also write the results as JSON to FILE (checked to be
                       writable before the run)
  --verbose            also print the consumers' log lines (start-up,
                       resume decisions, retries)
  -h, --help           show this help

The data directories live in a temporary directory under $TMPDIR (or /tmp),
removed at the end. A progress line goes to stderr when it is a terminal.
)";
}

}  // namespace streamckpt::bench
