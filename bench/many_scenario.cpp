// The many-consumer scenarios: args.consumers Consumers in one process, on
// one io_context, each on a stream of its own (many_stream(args.stream, i),
// seq 0 to args.events / args.consumers - 1) with its defaults (group mode),
// either all on one shared Store (streamckpt-many) or each with a store of its
// own (streamckpt-many-own). Each is driven like an application: next(),
// handle, ack() each event.
//
// Reports what every scenario child reports, the ledgers of all consumers
// summed; `fsyncs` is the synced writes of the store (of all the stores,
// summed, when each has its own) and `consumer_fsyncs` the sum over the
// consumers of the writes that carried their acks: higher than `fsyncs`
// when consumers shared writes.
#include "child_report.hpp"
#include "engine_options.hpp"
#include "run_to_end.hpp"
#include "scenarios.hpp"

#include <streamckpt/consumer.hpp>
#include <streamckpt/store.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

namespace streamckpt::bench {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
constexpr auto k_tuple = asio::as_tuple(asio::use_awaitable);

struct Lane {
  Lane(std::unique_ptr<Consumer> c, std::uint64_t events) : consumer(std::move(c)), ledger(events) {}
  std::unique_ptr<Consumer> consumer;
  Ledger ledger;
  std::optional<StreamId> last_acked;
};

class ManyRun {
 public:
  ManyRun(asio::io_context& io, const ChildArgs& args, const ResultPipe& out)
      : io_(io), args_(args), out_(out), progress_(out), done_(io, Clock::time_point::max()) {}

  asio::awaitable<void> run() {
    if (args_.consumers == 0) co_return fail("--consumers must be at least 1");
    if (!open_lanes()) co_return;
    for (std::size_t i = 0; i < lanes_.size(); ++i) {
      auto& consumer = *lanes_[i].consumer;
      auto [ec, report] = co_await consumer.async_start(k_tuple);
      if (ec) co_return fail(fmt::format("consumer {}: start failed: {}", i, report.failure));
    }

    t0_ = t_durable_ = Clock::now();
    co_await for_each_lane([this](Lane& lane) { return consume(lane); });

    // Every entry is handled: whatever a consumer still hands out within
    // 200 ms is a duplicate.
    reading_done_ = true;
    asio::steady_timer tail(io_, std::chrono::milliseconds(200));
    tail.async_wait([this](boost::system::error_code e) {
      if (e) return;
      for (auto& lane : lanes_) lane.consumer->request_stop();
    });
    co_await for_each_lane([this](Lane& lane) { return drain(lane); });
    tail.cancel();

    for (std::size_t i = 0; i < lanes_.size(); ++i) {
      auto [stop_ec] = co_await lanes_[i].consumer->async_stop(k_tuple);
      if (stop_ec) fail(fmt::format("consumer {}: stop failed: {}", i, stop_ec.message()));
    }
    report();
  }

  void fail(const std::string& why) {
    if (failed_) return;
    failed_ = true;
    out_.send("error", why);
    for (auto& lane : lanes_) lane.consumer->request_stop();
  }
  bool failed() const { return failed_; }

 private:
  bool shared() const { return args_.scenario == k_many_shared; }

  bool open_lanes() {
    if (shared()) {
      StoreOptions so;
      so.dir = args_.dir;
      std::string detail;
      auto opened = Store::open(so, &detail);
      if (!opened) {
        fail(fmt::format("cannot open the shared store: {}", detail.empty() ? opened.error().message() : detail));
        return false;
      }
      store_ = std::move(*opened);
    }
    const auto events_each = args_.events / args_.consumers;
    lanes_.reserve(args_.consumers);
    for (std::size_t i = 0; i < args_.consumers; ++i) {
      ChildArgs a = args_;
      a.stream = many_stream(args_.stream, i);
      a.group = fmt::format("{}-{}", args_.group, i);
      a.dir = shared() ? std::string() : (std::filesystem::path(args_.dir) / std::to_string(i)).string();
      auto o = engine_options(a, out_);
      o.log = [this, i](std::string_view line) { out_.send("log", fmt::format("consumer {}: {}", i, line)); };
      auto consumer = store_ ? std::make_unique<Consumer>(io_.get_executor(), store_, std::move(o))
                             : std::make_unique<Consumer>(io_.get_executor(), std::move(o));
      lanes_.emplace_back(std::move(consumer), events_each);
    }
    return true;
  }

  // Runs `body` for every lane at once; returns when all have returned.
  template <class Body>
  asio::awaitable<void> for_each_lane(Body body) {
    std::size_t running = lanes_.size();
    for (auto& lane : lanes_)
      asio::co_spawn(io_, body(lane), [this, &running](std::exception_ptr e) {
        if (e) fail("a consumer's coroutine failed");
        --running;
        done_.cancel();
      });
    while (running > 0) co_await done_.async_wait(k_tuple);
  }

  // Until the lane's ledger is complete and its last ack durable.
  asio::awaitable<void> consume(Lane& lane) {
    while (!lane.ledger.complete() && !failed_) {
      auto [ec, batch] = co_await lane.consumer->async_next(k_tuple);
      if (ec) {
        if (!failed_)
          fail(fmt::format("next() failed: {}",
                           lane.consumer->error_detail().empty() ? ec.message() : lane.consumer->error_detail()));
        co_return;
      }
      if (batch.empty()) break;  // nothing arrived for `block`: the rest is lost
      handle(lane, batch);
    }
    if (!lane.last_acked || failed_) co_return;
    auto [ec] = co_await lane.consumer->async_durable(*lane.last_acked, k_tuple);
    if (ec) co_return fail(fmt::format("durable({}) failed: {}", lane.last_acked->to_string(), ec.message()));
    t_durable_ = std::max(t_durable_, Clock::now());
  }

  // After request_stop(): what the lane still hands out goes to its ledger.
  asio::awaitable<void> drain(Lane& lane) {
    while (!failed_) {
      auto [ec, batch] = co_await lane.consumer->async_next(k_tuple);
      if (ec == errc::stopped) break;
      if (ec) co_return fail(fmt::format("next() failed: {}", ec.message()));
      handle(lane, batch);
    }
  }

  void handle(Lane& lane, const Batch& batch) {
    for (const auto& event : batch) {
      std::optional<std::uint64_t> seq;
      if (event.fields.size() == 2)
        seq = check_fields(event.fields[0].first, event.fields[0].second, event.fields[1].first, event.fields[1].second,
                           args_.payload_bytes);
      lane.ledger.record(seq);
      if (!lane.consumer->ack(event))
        lane.last_acked = event.id;
      else
        ++ack_rejected_;
    }
    if (!reading_done_) {
      handled_ += batch.size();
      progress_.update(handled_);
    }
  }

  void report() {
    std::uint64_t handled = 0, lost = 0, duplicates = 0, out_of_order = 0, foreign = 0, consumer_fsyncs = 0,
                  store_fsyncs = 0, xack_failures = 0, redis_lag = 0;
    for (const auto& lane : lanes_) {
      handled += lane.ledger.handled();
      lost += lane.ledger.lost();
      duplicates += lane.ledger.duplicates();
      out_of_order += lane.ledger.out_of_order();
      foreign += lane.ledger.foreign();
      const auto m = lane.consumer->metrics();
      consumer_fsyncs += m.fsyncs;
      xack_failures += m.xack_failures;
      redis_lag += m.redis_lag_events;
    }
    // A consumer with a store of its own is that store's only client.
    store_fsyncs = store_ ? store_->fsyncs() : consumer_fsyncs;
    // The rows stand for the designed path, as the single consumer's.
    if (xack_failures > 0)
      fail(fmt::format("Redis refused {} XACKs (--verbose shows why): the engine did not run its designed path",
                       xack_failures));
    if (redis_lag > 0) fail(fmt::format("the Redis copies are {} events behind at exit", redis_lag));
    if (ack_rejected_) out_.send("ack_rejected", ack_rejected_);
    if (failed_) return;
    out_.send("handled", handled);
    out_.send("lost", lost);
    out_.send("duplicates", duplicates);
    out_.send("out_of_order", out_of_order);
    out_.send("foreign", foreign);
    out_.send("seconds", std::chrono::duration<double>(t_durable_ - t0_).count());
    out_.send("fsyncs", store_fsyncs);
    out_.send("consumer_fsyncs", consumer_fsyncs);
    out_.send("rss_kib", peak_rss_kib());
    out_.send("done", std::uint64_t{1});
  }

  asio::io_context& io_;
  const ChildArgs& args_;
  const ResultPipe& out_;
  ProgressReporter progress_;
  std::shared_ptr<Store> store_;  // streamckpt-many only
  std::vector<Lane> lanes_;
  // Cancelled when a lane's coroutine returns: a wait on a timer that never
  // expires. One single-threaded io_context.
  asio::steady_timer done_;
  bool reading_done_ = false, failed_ = false;
  std::uint64_t handled_ = 0, ack_rejected_ = 0;
  Clock::time_point t0_, t_durable_;
};

}  // namespace

int run_many(const ChildArgs& args, const ResultPipe& out) {
  asio::io_context io(1);
  ManyRun run(io, args, out);
  return run_to_end(io, run);
}

}  // namespace streamckpt::bench
