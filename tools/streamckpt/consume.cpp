// streamckpt consume: read, write to the sink, ack; stop cleanly on signals.
#include "args.hpp"
#include "checkpoint_common.hpp"
#include "commands.hpp"
#include "consume_settings.hpp"
#include "metrics_publish.hpp"
#include "sd_notify.hpp"
#include "sink.hpp"

#include <streamckpt/consumer.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

#include <rocksdb/write_batch.h>

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

class ConsumeRun {
 public:
  ConsumeRun(asio::io_context& io, ConsumeSettings settings)
      : io_(io),
        settings_(std::move(settings)),
        signals_(io, SIGINT, SIGTERM),
        metrics_timer_(io),
        retry_timer_(io),
        watchdog_timer_(io),
        status_timer_(io),
        publisher_(io, settings_.publishing, settings_.options, [this] { return metrics_view(); }),
        sink_(make_sink(settings_.sink_spec)) {
    // The sink is asked before start-up changes anything for it: a file it
    // refuses leaves the group, its consumers and both copies as they were.
    settings_.options.check_resume = [this](const ResumeReport& report) {
      return sink_->check(sink_start_of(report, settings_.options));
    };
  }

  int exit_code() const { return exit_code_; }

  void begin() {
    signals_.async_wait([this](boost::system::error_code ec, int signo) { on_signal(ec, signo); });
    // Before anything talks to Redis: a port in use or an unwritable file is
    // a mistake in the unit, said at once.
    if (auto error = publisher_.begin(); !error.empty()) {
      exit_code_ = fail(error);
      signals_.cancel();
      return;
    }
    if (notifier_.watchdog_period().count() > 0) schedule_watchdog();
    if (settings_.metrics_interval_ms) schedule_metrics();
    asio::co_spawn(io_, run(), [this](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          exit_code_ = fail(ex.what());
        }
      }
      end_notifications();
      signals_.cancel();
      metrics_timer_.cancel();
    });
  }

 private:
  void on_signal(boost::system::error_code ec, int signo) {
    if (ec) return;
    if (stop_requested_) {
      // A second signal: leave now. What was acked but not yet durable is
      // handled again next time, as after a crash.
      fmt::print(stderr, "streamckpt: second signal: exiting without the final commit\n");
      std::_Exit(1);
    }
    stop_requested_ = true;
    notify_stopping(
        fmt::format("stopping on {}: finishing the events in flight", signo == SIGINT ? "SIGINT" : "SIGTERM"));
    if (consumer_) consumer_->request_stop();
    retry_timer_.cancel();
    signals_.async_wait([this](boost::system::error_code e, int n) { on_signal(e, n); });
  }

  // systemd: READY=1 once the resume is decided, STATUS= as the checkpoint
  // moves, WATCHDOG=1 while the loop runs, STOPPING=1 when it stops.
  void notify_started(const ResumeReport& report) {
    const auto status =
        fmt::format("STATUS=resumed after {} (source: {})", report.position.to_string(), to_string(report.source));
    notifier_.send(ready_sent_ ? status : "READY=1\n" + status);
    ready_sent_ = true;
    status_id_ = consumer_->durable_id();
    status_handled_ = handled_;
    if (notifier_.active() && !status_scheduled_) schedule_status();
  }

  void schedule_status() {
    status_scheduled_ = true;
    status_timer_.expires_after(std::chrono::seconds(1));
    status_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec || stopping_sent_) return;
      if (started_ && (consumer_->durable_id() != status_id_ || handled_ != status_handled_)) {
        status_id_ = consumer_->durable_id();
        status_handled_ = handled_;
        notifier_.send(fmt::format("STATUS=checkpoint {}, {} events handled", status_id_.to_string(), handled_));
      }
      schedule_status();
    });
  }

  void schedule_watchdog() {
    notifier_.send("WATCHDOG=1");
    watchdog_timer_.expires_after(notifier_.watchdog_period());
    watchdog_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) schedule_watchdog();
    });
  }

  void notify_stopping(const std::string& why) {
    if (stopping_sent_) return;
    stopping_sent_ = true;
    status_timer_.cancel();
    notifier_.send("STOPPING=1\nSTATUS=" + why);
  }

  void end_notifications() {
    notify_stopping("stopping");
    watchdog_timer_.cancel();
    status_timer_.cancel();
    publisher_.finish();
  }

  // The numbers --metrics-listen and --metrics-file show.
  MetricsView metrics_view() {
    MetricsView v;
    v.key = settings_.options.key;
    v.consumer = consumer_ ? add_counters(finished_metrics_, consumer_->metrics()) : finished_metrics_;
    v.handled = handled_;
    v.started = started_;
    const auto now = Clock::now();
    if (started_) {
      v.checkpoint = consumer_->durable_id();
      if (v.checkpoint != age_id_) {
        age_id_ = v.checkpoint;
        age_since_ = now;
      }
    }
    v.checkpoint_age_seconds = std::chrono::duration<double>(now - age_since_).count();
    return v;
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
    if (auto error = sink_->prepare(); !error.empty()) {
      exit_code_ = fail(error);
      co_return;
    }
    bool again = true;
    while (again && !stop_requested_) {
      if (consumer_) finished_metrics_ = add_counters(finished_metrics_, consumer_->metrics());
      consumer_ = std::make_unique<Consumer>(io_.get_executor(), settings_.options);
      started_ = false;
      again = co_await run_one();
      co_await finish();
    }
    if (settings_.metrics && consumer_) fmt::print(stderr, "{}\n", consumer_->metrics().to_json());
    notify_stopping("stopping");
    if (started_)
      notifier_.send(
          fmt::format("STATUS=stopped after {} events; checkpoint {}", handled_, consumer_->durable_id().to_string()));
    end_notifications();
    if (exit_code_ != 0) co_return;
    // Before start-up completes the consumer's durable_id() is no checkpoint
    // at all: name what the store holds instead (the consumer has closed it).
    if (started_)
      fmt::print(stderr, "streamckpt: stopped after {} events; checkpoint {}\n", handled_,
                 consumer_->durable_id().to_string());
    else
      fmt::print(stderr, "streamckpt: stopped after {} events, before start-up completed; {}\n", handled_,
                 local_checkpoint_text(settings_.options.data_dir, settings_.options.key));
  }

  // One consumer's life; true to start another one (the stream regressed).
  asio::awaitable<bool> run_one() {
    auto& consumer = *consumer_;
    auto [ec, report] = co_await consumer.async_start(k_tuple);
    if (ec == errc::stopped && stop_requested_) co_return false;  // SIGTERM while starting: a clean stop
    if (ec) {
      exit_code_ = fail(report.failure);
      co_return false;
    }
    started_ = true;
    if (auto error = sink_->open(sink_start_of(report, settings_.options)); !error.empty()) {
      exit_code_ = fail(error);
      co_return false;
    }
    publisher_.note_stream(report.stream);
    notify_started(report);

    auto last_event = Clock::now();
    while (!stop_requested_) {
      auto [next_ec, batch] = co_await consumer.async_next(k_tuple);
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
      if (auto error = co_await flush_sink(); !error.empty()) {
        exit_code_ = fail(error);
        co_return false;
      }
      if (stop_requested_ && !sink_flushed_) break;  // stopped while the disk was full: nothing of it is acked
      for (std::size_t i = 0; i < take; ++i) {
        const auto refused = metadata_of[i] ? consumer.ack(batch[i], rocksdb::WriteBatch{}, std::move(metadata_of[i]))
                                            : consumer.ack(batch[i]);
        if (refused) {  // each event is delivered once and acked once: the library's fault
          exit_code_ = fail(fmt::format("entry {} could not be acked: {}", batch[i].id.to_string(), refused.message()));
          co_return false;
        }
      }
      handled_ += take;
      if (settings_.max_events && handled_ >= settings_.max_events) break;
    }
    co_return false;
  }

  // Flushes the sink. A full or failing disk under a file sink is waited out
  // with backoff, as the checkpoint store's is: consumption pauses, and the
  // events stay unacked until their lines are durable. "" once flushed, or
  // when a stop came first (sink_flushed_ false); the error otherwise.
  asio::awaitable<std::string> flush_sink() {
    sink_flushed_ = false;
    std::chrono::milliseconds delay{50};
    std::string logged;
    for (;;) {
      auto error = sink_->flush();
      if (error.empty()) {
        if (!logged.empty()) fmt::print(stderr, "streamckpt: the sink is written again\n");
        sink_flushed_ = true;
        co_return std::string{};
      }
      if (!sink_->can_retry()) co_return error;
      if (error != logged) {  // once per distinct failure, not per attempt
        fmt::print(stderr, "streamckpt: {}; consumption pauses, retrying until it succeeds\n", error);
        logged = error;
      }
      retry_timer_.expires_after(delay);
      boost::system::error_code ignored;
      co_await retry_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      if (stop_requested_) co_return std::string{};
      delay = std::min(delay * 2, std::chrono::milliseconds{1000});
    }
  }

  asio::awaitable<void> finish() {
    auto [ec] = co_await consumer_->async_stop(k_tuple);
    if (ec && exit_code_ == 0) exit_code_ = fail(fmt::format("final commit failed: {}", ec.message()));
  }

  asio::io_context& io_;
  ConsumeSettings settings_;
  asio::signal_set signals_;  // first: catch signals as early as possible
  asio::steady_timer metrics_timer_;
  asio::steady_timer retry_timer_;  // the sink's retry; a signal cancels it
  asio::steady_timer watchdog_timer_;
  asio::steady_timer status_timer_;
  SystemdNotifier notifier_;
  MetricsPublisher publisher_;
  Metrics finished_metrics_;  // the counters of this run's earlier consumers
  bool ready_sent_ = false;
  bool stopping_sent_ = false;
  bool status_scheduled_ = false;
  StreamId status_id_;  // what the last STATUS said
  std::uint64_t status_handled_ = 0;
  StreamId age_id_;  // the checkpoint as last seen, and since when
  Clock::time_point age_since_ = Clock::now();
  std::unique_ptr<Consumer> consumer_;
  std::unique_ptr<Sink> sink_;
  bool stop_requested_ = false;
  bool sink_flushed_ = false;
  bool started_ = false;  // the current consumer's start() succeeded
  std::uint64_t handled_ = 0;
  int exit_code_ = 0;
};

}  // namespace

int run_consume(const std::vector<std::string>& argv) {
  auto settings = parse_consume_settings(argv);
  // What the library would refuse, before anything is opened: each option
  // has its range on the command line, so what is left is a bad URL (an
  // error, as at start-up) or a name out of range (the command line's).
  if (auto problem = validate(settings.options)) {
    if (problem.code == errc::invalid_url) return fail(problem.detail);
    throw UsageError(problem.detail);
  }
  asio::io_context io(1);
  ConsumeRun run(io, std::move(settings));
  run.begin();
  io.run();
  return run.exit_code();
}

}  // namespace streamckpt::cli
