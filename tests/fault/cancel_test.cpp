// Per-operation cancellation of next() and durable(): a cancelled operation
// completes with operation_aborted, the consumer keeps running, and no entry
// is lost or handed out twice. Cancelled through a cancellation slot, and the
// way coroutines do it (the loser of an awaitable `||`). The library against
// a real redis-server.
#include "storage_rig.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <doctest/doctest.h>

#include <optional>

using namespace streamckpt;
using namespace streamckpt::test;
namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr int k_first = 10, k_more = 10;

// Consumes the first entries, lets `cancel_one` cancel an operation while
// nothing arrives, then produces more and consumes them to the end.
void cancelled_while_idle(bool group,
                          const std::function<asio::awaitable<void>(Rig&, Consumer&, asio::io_context&)>& cancel_one) {
  Rig rig(group);
  rig.produce(k_first);
  auto options = rig.options();
  options.block = 120s;  // no idle tick completes next() while the test runs (50 s at most)
  App app;
  {
    asio::io_context io;
    Consumer consumer(io.get_executor(), options);
    run(io, [&]() -> asio::awaitable<void> {
      co_await start(consumer);
      // By hand: the first entries, acked and durable.
      while (app.handled.size() < static_cast<std::size_t>(k_first)) {
        for (const auto& e : co_await next_batch(consumer)) {
          app.handled.push_back(number_of(e));
          REQUIRE_FALSE(consumer.ack(e));
        }
      }
      const auto [durable] = co_await consumer.async_durable(rig.id_of(k_first), k_tuple);
      REQUIRE(!durable);
      co_await cancel_one(rig, consumer, io);
      rig.produce(k_more);
      spawn_app(io.get_executor(), consumer, app);
      REQUIRE(co_await eventually([&] { return consumer.durable_id() == rig.id_of(k_first + k_more); }));
      const auto stopped = co_await stop(consumer);
      CHECK_FALSE(stopped);
    }());
  }
  CHECK(ledger(app.handled, 1, k_first + k_more) == k_exactly_once_in_order);
  CHECK(app.end == errc::stopped);  // the application's next() after the cancelled one ran until the stop
}

asio::awaitable<void> cancel_next_by_slot(Rig&, Consumer& consumer, asio::io_context&) {
  asio::cancellation_signal cancel;
  std::optional<boost::system::error_code> got;
  Batch batch;
  consumer.async_next(asio::bind_cancellation_slot(cancel.slot(), [&](boost::system::error_code ec, Batch b) {
    got = ec;
    batch = std::move(b);
  }));
  co_await sleep_for(50ms);
  CHECK_FALSE(got.has_value());  // waiting: nothing arrived
  cancel.emit(asio::cancellation_type::terminal);
  REQUIRE(co_await eventually([&] { return got.has_value(); }));
  CHECK(*got == asio::error::operation_aborted);
  CHECK(batch.empty());
}

asio::awaitable<void> next_loses_a_race(Rig&, Consumer& consumer, asio::io_context& io) {
  asio::steady_timer timer(io, 50ms);
  const auto winner = co_await (consumer.async_next(k_tuple) || timer.async_wait(k_tuple));
  CHECK(winner.index() == 1);  // the timer: next() was cancelled
}

asio::awaitable<void> cancel_durable_by_slot(Rig& rig, Consumer& consumer, asio::io_context&) {
  asio::cancellation_signal cancel;
  std::optional<boost::system::error_code> got;
  // Not durable before the entries are produced and handled.
  consumer.async_durable(StreamId(rig.ids.back().ms() + 1, 0),
                         asio::bind_cancellation_slot(cancel.slot(), [&](boost::system::error_code ec) { got = ec; }));
  co_await sleep_for(50ms);
  CHECK_FALSE(got.has_value());
  cancel.emit(asio::cancellation_type::terminal);
  REQUIRE(co_await eventually([&] { return got.has_value(); }));
  CHECK(*got == asio::error::operation_aborted);
  CHECK(consumer.durable_id() == rig.id_of(k_first));
}

}  // namespace

TEST_CASE("group mode: a next() cancelled through its slot completes with operation_aborted; nothing is lost") {
  cancelled_while_idle(true, cancel_next_by_slot);
}

TEST_CASE("plain mode: a next() cancelled through its slot completes with operation_aborted; nothing is lost") {
  cancelled_while_idle(false, cancel_next_by_slot);
}

TEST_CASE("a next() that loses an awaitable || to a timer is cancelled; the consumer goes on, nothing is lost") {
  cancelled_while_idle(true, next_loses_a_race);
}

TEST_CASE("a durable() cancelled through its slot completes with operation_aborted; the consumer goes on") {
  cancelled_while_idle(true, cancel_durable_by_slot);
}
