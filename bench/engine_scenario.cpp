// The engine scenarios: a Consumer with its defaults (group mode, or plain
// XREAD), driven like an application would: next(), handle, ack() each event.
// Ack-to-durable is measured here, from ack() to the moment durable_id()
// covers the event, by a second coroutine that awaits durable().
#include "child_report.hpp"
#include "engine_options.hpp"
#include "run_to_end.hpp"
#include "scenarios.hpp"

#include <streamckpt/consumer.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

#include <deque>

namespace streamckpt::bench {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
constexpr auto k_tuple = asio::as_tuple(asio::use_awaitable);

class EngineRun {
 public:
  EngineRun(asio::io_context& io, const ChildArgs& args, const ResultPipe& out)
      : io_(io),
        args_(args),
        out_(out),
        consumer_(io.get_executor(), engine_options(args, out)),
        ledger_(args.events),
        progress_(out),
        wake_(io, Clock::time_point::max()),
        watcher_exit_(io, Clock::time_point::max()) {}

  asio::awaitable<void> run() {
    auto [ec, report] = co_await consumer_.async_start(k_tuple);
    if (ec) {
      fail(fmt::format("start failed: {}", report.failure));
      co_return;
    }
    t0_ = t_durable_ = Clock::now();
    watcher_running_ = true;
    asio::co_spawn(io_, watch_durability(), [this](std::exception_ptr e) {
      if (e) fail("the durability watcher failed");
      watcher_running_ = false;
      watcher_exit_.cancel();
    });

    while (!ledger_.complete() && !failed_) {
      auto [next_ec, batch] = co_await consumer_.async_next(k_tuple);
      if (next_ec) {
        fail(fmt::format("next() failed: {}",
                         consumer_.error_detail().empty() ? next_ec.message() : consumer_.error_detail()));
        break;
      }
      if (batch.empty()) break;  // nothing arrived for `block`: the rest is lost
      handle(batch);
    }
    reading_done_ = true;

    // Every entry is handled: whatever the consumer still hands out within
    // 200 ms is a duplicate.
    asio::steady_timer tail(io_, std::chrono::milliseconds(200));
    tail.async_wait([this](boost::system::error_code e) {
      if (!e) consumer_.request_stop();
    });
    while (!failed_) {
      auto [next_ec, batch] = co_await consumer_.async_next(k_tuple);
      if (next_ec == errc::stopped) break;
      if (next_ec) {
        fail(fmt::format("next() failed: {}", next_ec.message()));
        break;
      }
      handle(batch);
    }
    tail.cancel();

    finish_ = true;
    wake_.cancel();
    while (watcher_running_) co_await watcher_exit_.async_wait(k_tuple);
    auto [stop_ec] = co_await consumer_.async_stop(k_tuple);
    if (stop_ec) fail(fmt::format("stop failed: {}", stop_ec.message()));

    const auto m = consumer_.metrics();
    out_.send("lib_latency_p50_us", m.ack_to_durable_p50_us);
    out_.send("lib_latency_p99_us", m.ack_to_durable_p99_us);
    out_.send("lib_latency_p999_us", m.ack_to_durable_p999_us);
    out_.send("sync_p50_us", m.sync_p50_us);
    out_.send("sync_p99_us", m.sync_p99_us);
    out_.send("sync_max_us", m.sync_max_us);
    out_.send("metrics", m.to_json());
    // The row stands for the designed path: every XACK sent and the Redis
    // copy written through. A Redis that refused them timed a cheaper one.
    if (m.xack_failures > 0)
      fail(fmt::format("Redis refused {} XACKs (--verbose shows why): the engine did not run its designed path",
                       m.xack_failures));
    if (m.redis_lag_events > 0)
      fail(fmt::format("the Redis copy is {} events behind at exit ({} failed write-throughs; --verbose shows why)",
                       m.redis_lag_events, m.flush_failures));
    if (ack_rejected_) out_.send("ack_rejected", ack_rejected_);
    ScenarioTotals totals;
    totals.seconds = std::chrono::duration<double>(t_durable_ - t0_).count();
    totals.fsyncs = m.fsyncs;
    totals.latency = &latency_;
    if (!failed_) report_totals(out_, ledger_, totals);
  }

  void fail(const std::string& why) {
    if (failed_) return;
    failed_ = true;
    out_.send("error", why);
  }
  bool failed() const { return failed_; }

 private:
  struct Acked {
    StreamId last;                            // the batch's last acked event
    std::vector<Clock::time_point> acked_at;  // one per acked event
    bool counted = true;                      // part of the throughput run
  };

  void handle(const Batch& batch) {
    Acked acked;
    acked.acked_at.reserve(batch.size());
    acked.counted = !reading_done_;
    std::optional<StreamId> last;
    for (const auto& event : batch) {
      std::optional<std::uint64_t> seq;
      if (event.fields.size() == 2)
        seq = check_fields(event.fields[0].first, event.fields[0].second, event.fields[1].first, event.fields[1].second,
                           args_.payload_bytes);
      ledger_.record(seq);
      if (!consumer_.ack(event)) {
        acked.acked_at.push_back(Clock::now());
        last = event.id;
      } else {
        ++ack_rejected_;
      }
    }
    if (last) {
      acked.last = *last;
      acked_.push_back(std::move(acked));
      wake_.cancel();
    }
    progress_.update(ledger_.handled());
  }

  asio::awaitable<void> watch_durability() {
    for (;;) {
      if (acked_.empty()) {
        if (finish_ || failed_) break;
        co_await wake_.async_wait(k_tuple);
        continue;
      }
      auto [ec] = co_await consumer_.async_durable(acked_.front().last, k_tuple);
      const auto now = Clock::now();
      if (ec) {
        fail(fmt::format("durable({}) failed: {}", acked_.front().last.to_string(), ec.message()));
        break;
      }
      const auto durable = consumer_.durable_id();
      while (!acked_.empty() && acked_.front().last <= durable) {
        for (const auto t : acked_.front().acked_at)
          latency_.record(
              static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(now - t).count()));
        if (acked_.front().counted) t_durable_ = now;
        acked_.pop_front();
      }
    }
  }

  asio::io_context& io_;
  const ChildArgs& args_;
  const ResultPipe& out_;
  Consumer consumer_;
  Ledger ledger_;
  ProgressReporter progress_;
  Histogram latency_;
  std::deque<Acked> acked_;
  // Wake-ups: a wait on a timer that never expires ends when it is
  // cancelled; the waiter checks its condition again. One single-threaded
  // io_context.
  asio::steady_timer wake_, watcher_exit_;
  bool reading_done_ = false, finish_ = false, failed_ = false, watcher_running_ = false;
  std::uint64_t ack_rejected_ = 0;
  Clock::time_point t0_, t_durable_;
};

}  // namespace

int run_engine(const ChildArgs& args, const ResultPipe& out) {
  asio::io_context io(1);
  EngineRun run(io, args, out);
  return run_to_end(io, run);
}

}  // namespace streamckpt::bench
