// streamckpt consume: read, write to the sink, ack; stop cleanly on signals.
#include "args.hpp"
#include "checkpoint_common.hpp"
#include "commands.hpp"
#include "sink.hpp"

#include <streamckpt/consumer.hpp>
#include <streamckpt/local_store.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>

namespace streamckpt::cli {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
constexpr auto k_tuple = asio::as_tuple(asio::use_awaitable);

// Upper bounds of the millisecond options: far beyond any sensible setting,
// and small enough that no deadline computed from them overflows the clock.
constexpr std::uint64_t k_hour_ms = 3600 * 1000;
constexpr std::uint64_t k_year_ms = 365ULL * 24 * k_hour_ms;

struct ConsumeSettings {
  ConsumerOptions options;
  std::string sink_spec;
  std::uint64_t max_events = 0;  // 0: no limit
  std::uint64_t idle_exit_ms = 0;
  bool metrics = false;
  std::uint64_t metrics_interval_ms = 0;  // 0: only at exit
};

ConsumeSettings parse(const std::vector<std::string>& argv) {
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
                   "metrics-interval-ms",
                   "tls-ca",
                   "tls-cert",
                   "tls-key"},
                  {"metrics", "wait-lease", "no-lease", "tls-insecure"});
  ConsumeSettings s;
  auto& o = s.options;
  o.redis_url = args.required("redis");
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
  o.wait_lease = args.has("wait-lease");
  o.fencing = !args.has("no-lease");
  o.batch = args.number_or("batch", 100, 1, 100000);
  s.max_events = args.number_or("max-events", 0, 1);
  s.idle_exit_ms = args.number_or("idle-exit-ms", 0, 1, k_year_ms);
  o.block = milliseconds(args.number_or("block-ms", 1000, 1, k_hour_ms));
  if (s.idle_exit_ms && !args.has("block-ms")) o.block = milliseconds(std::min<std::uint64_t>(s.idle_exit_ms, 1000));
  // Room to read ahead: at least three batches (see ConsumerOptions).
  const auto in_flight_default = std::max<std::uint64_t>(ConsumerOptions{}.max_in_flight, 3 * o.batch);
  o.max_in_flight = args.number_or("max-in-flight", in_flight_default, 1, 10000000);
  // Default: keep retrying an unreachable Redis (edge links drop), logging
  // each attempt; --startup-timeout-ms gives up after that long (0: at once).
  o.startup_timeout = args.has("startup-timeout-ms")
                          ? milliseconds(args.number_or("startup-timeout-ms", 0, 0, k_year_ms))
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
  o.command_timeout = milliseconds(args.number_or("command-timeout-ms", 2000, 1, k_hour_ms));
  o.connect_timeout = milliseconds(args.number_or("connect-timeout-ms", 2000, 1, k_hour_ms));
  o.log = [](std::string_view line) { fmt::print(stderr, "streamckpt: {}\n", line); };
  return s;
}

// What the resumed checkpoint recorded for the sink.
struct SinkResume {
  enum class Kind {
    fresh,     // no copy exists at all: the sink starts from empty
    recorded,  // `metadata` is what the checkpoint recorded ("" for none)
    unknown,   // copies exist but none is valid: a file sink refuses
  };
  Kind kind = Kind::fresh;
  std::string metadata;
};

SinkResume sink_resume(const ResumeReport& r) {
  const CheckpointCopy* winner = r.source == ResumeReport::Source::local   ? &r.local
                                 : r.source == ResumeReport::Source::redis ? &r.redis
                                                                           : nullptr;
  if (winner && winner->valid()) return {SinkResume::Kind::recorded, winner->checkpoint->metadata};
  // The stream went backwards: the copies are beyond its end and --on-regressed
  // chose the position, but the higher copy still records how much of the
  // file its checkpoint covers.
  if (r.regressed_from) return {SinkResume::Kind::recorded, r.regressed_from->metadata};
  if (r.local.state == CheckpointCopy::State::absent && r.redis.state == CheckpointCopy::State::absent) return {};
  return {SinkResume::Kind::unknown, {}};
}

// What the local store holds for the consumer's key, read afresh: for the
// stop line when start-up did not complete, when the consumer knows no
// position of its own. The consumer has closed the store by then.
std::string local_checkpoint_text(const ConsumerOptions& o) {
  // Read-only RocksDB needs an existing store; none means no checkpoint.
  if (!store_exists(o.data_dir)) return "no local checkpoint";
  std::unique_ptr<LocalStore> store;
  if (auto error = open_for_reading(o.data_dir, store); !error.empty())
    return fmt::format("local checkpoint unknown ({})", error);
  const auto copy = store->read(o.key);
  switch (copy.state) {
    case CheckpointCopy::State::absent:
      return "no local checkpoint";
    case CheckpointCopy::State::valid:
      return fmt::format("local checkpoint {}", copy.checkpoint->id.to_string());
    case CheckpointCopy::State::invalid:
      return fmt::format("local checkpoint invalid ({})", copy.reason);
  }
  return {};
}

class ConsumeRun {
 public:
  ConsumeRun(asio::io_context& io, ConsumeSettings settings)
      : io_(io),
        settings_(std::move(settings)),
        signals_(io, SIGINT, SIGTERM),
        metrics_timer_(io),
        sink_(make_sink(settings_.sink_spec)) {}

  int exit_code() const { return exit_code_; }

  void begin() {
    signals_.async_wait([this](boost::system::error_code ec, int) { on_signal(ec); });
    if (settings_.metrics_interval_ms) schedule_metrics();
    asio::co_spawn(io_, run(), [this](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          exit_code_ = fail(ex.what());
        }
      }
      signals_.cancel();
      metrics_timer_.cancel();
    });
  }

 private:
  void on_signal(boost::system::error_code ec) {
    if (ec) return;
    if (stop_requested_) {
      // A second signal: leave now. What was acked but not yet durable is
      // handled again next time, as after a crash.
      fmt::print(stderr, "streamckpt: second signal: exiting without the final commit\n");
      std::_Exit(1);
    }
    stop_requested_ = true;
    if (consumer_) consumer_->request_stop();
    signals_.async_wait([this](boost::system::error_code e, int) { on_signal(e); });
  }

  void schedule_metrics() {
    metrics_timer_.expires_after(std::chrono::milliseconds(settings_.metrics_interval_ms));
    metrics_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      if (consumer_) fmt::print(stderr, "{}\n", consumer_->metrics().to_json());
      schedule_metrics();
    });
  }

  // Runs consumers until a clean end. A stream that goes backwards while
  // running ends the consumer with errc::stream_regressed; a fresh start
  // then applies --on-regressed, and the sink carries on.
  asio::awaitable<void> run() {
    bool again = true;
    while (again && !stop_requested_) {
      consumer_ = std::make_unique<Consumer>(io_.get_executor(), settings_.options);
      started_ = false;
      again = co_await run_one();
      co_await finish();
    }
    if (settings_.metrics && consumer_) fmt::print(stderr, "{}\n", consumer_->metrics().to_json());
    if (exit_code_ != 0) co_return;
    // Before start-up completes the consumer's durable_id() is no checkpoint
    // at all: name what the store holds instead.
    if (started_)
      fmt::print(stderr, "streamckpt: stopped after {} events; checkpoint {}\n", handled_,
                 consumer_->durable_id().to_string());
    else
      fmt::print(stderr, "streamckpt: stopped after {} events, before start-up completed; {}\n", handled_,
                 local_checkpoint_text(settings_.options));
  }

  // One consumer's life; true to start another one (the stream regressed).
  asio::awaitable<bool> run_one() {
    auto& consumer = *consumer_;
    auto [ec, report] = co_await consumer.start(k_tuple);
    if (ec == errc::stopped && stop_requested_) co_return false;  // SIGTERM while starting: a clean stop
    if (ec) {
      exit_code_ = fail(describe_start_error(ec));
      co_return false;
    }
    started_ = true;
    const auto resumed = sink_resume(report);
    if (settings_.sink_spec != "stdout" && resumed.kind == SinkResume::Kind::unknown) {
      exit_code_ = fail(
          "no valid checkpoint records the sink file's length (see the resume line above), so the file cannot be "
          "cut back to what was handled; move the file away, then give the checkpoint a valid value with "
          "'streamckpt checkpoint set' (or delete it with 'checkpoint reset': the file then starts empty)");
      co_return false;
    }
    SinkStart sink_start;
    if (resumed.kind != SinkResume::Kind::fresh) sink_start.metadata = resumed.metadata;
    sink_start.owner = sink_owner(settings_.options);
    if (auto error = sink_->open(sink_start); !error.empty()) {
      exit_code_ = fail(error);
      co_return false;
    }

    auto last_event = Clock::now();
    while (!stop_requested_) {
      auto [next_ec, batch] = co_await consumer.next(k_tuple);
      if (next_ec == errc::stopped) break;
      if (next_ec == errc::stream_regressed && settings_.options.on_regressed != RegressedPolicy::fail) {
        fmt::print(stderr, "streamckpt: restarting to apply --on-regressed\n");
        co_return true;
      }
      if (next_ec) {
        exit_code_ = fail(consumer.error_detail().empty() ? next_ec.message() : consumer.error_detail());
        break;
      }
      if (batch.empty()) {
        if (settings_.idle_exit_ms && Clock::now() - last_event >= std::chrono::milliseconds(settings_.idle_exit_ms))
          break;
        continue;
      }
      last_event = Clock::now();
      std::size_t take = batch.size();
      if (settings_.max_events) take = std::min<std::uint64_t>(take, settings_.max_events - handled_);
      std::vector<std::optional<std::string>> metadata_of(take);
      for (std::size_t i = 0; i < take; ++i) {
        if (auto error = sink_->write(batch[i], metadata_of[i]); !error.empty()) {
          exit_code_ = fail(error);
          co_return false;
        }
      }
      // The lines leave the process (and, for a file, reach the disk) before
      // their acks: an acked event is never missing from the sink.
      if (auto error = sink_->flush(); !error.empty()) {
        exit_code_ = fail(error);
        co_return false;
      }
      for (std::size_t i = 0; i < take; ++i) {
        if (metadata_of[i])
          consumer.ack(batch[i], rocksdb::WriteBatch{}, std::move(metadata_of[i]));
        else
          consumer.ack(batch[i]);
      }
      handled_ += take;
      if (settings_.max_events && handled_ >= settings_.max_events) break;
    }
    co_return false;
  }

  asio::awaitable<void> finish() {
    auto [ec] = co_await consumer_->stop(k_tuple);
    if (ec && exit_code_ == 0) exit_code_ = fail(fmt::format("final commit failed: {}", ec.message()));
  }

  std::string describe_start_error(boost::system::error_code ec) const {
    auto detail = consumer_->error_detail();
    if (detail.empty()) detail = ec.message();
    return detail;
  }

  asio::io_context& io_;
  ConsumeSettings settings_;
  asio::signal_set signals_;  // first: catch signals as early as possible
  asio::steady_timer metrics_timer_;
  std::unique_ptr<Consumer> consumer_;
  std::unique_ptr<Sink> sink_;
  bool stop_requested_ = false;
  bool started_ = false;  // the current consumer's start() succeeded
  std::uint64_t handled_ = 0;
  int exit_code_ = 0;
};

}  // namespace

int run_consume(const std::vector<std::string>& argv) {
  auto settings = parse(argv);
  asio::io_context io(1);
  ConsumeRun run(io, std::move(settings));
  run.begin();
  io.run();
  return run.exit_code();
}

}  // namespace streamckpt::cli
