// A stop while Redis is down: the consumer is backing off between reconnect
// attempts, with a backoff far longer than any test waits (10 minutes). The
// stop ends that wait at once, and what was acked stays durable. The library
// against a real redis-server, killed with SIGKILL.
#include "storage_rig.hpp"

#include <boost/asio/io_context.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace streamckpt;
using namespace streamckpt::test;
namespace asio = boost::asio;

namespace {

constexpr int k_entries = 30;

void stop_while_redis_is_down(bool group) {
  Rig rig(group);
  rig.produce(k_entries);
  auto options = rig.options();
  options.reconnect_initial = 10min;
  options.reconnect_max = 10min;
  App app;
  boost::system::error_code stopped;
  {
    asio::io_context io;
    Consumer consumer(io.get_executor(), options);
    // run() fails the test if the body is not done within 50 s: the reading
    // loop's backoff, sat out, would take minutes.
    run(io, [&]() -> asio::awaitable<void> {
      co_await start(consumer);
      spawn_app(io.get_executor(), consumer, app);
      REQUIRE(co_await eventually([&] { return consumer.durable_id() == rig.id_of(k_entries); }));
      if (rig.group) REQUIRE(co_await eventually([&] { return rig.pending().first == 0; }));
      rig.redis.kill();
      REQUIRE(co_await eventually([&] { return rig.logged("; reconnecting in "); }));
      stopped = co_await stop(consumer);
    }());
  }
  CHECK(!stopped);
  CHECK(ledger(app.handled, 1, k_entries) == k_exactly_once_in_order);
  CHECK(local_checkpoint(rig).id == rig.id_of(k_entries));
}

}  // namespace

TEST_CASE("group mode: a stop while Redis is down does not sit out the reconnect backoff") {
  stop_while_redis_is_down(true);
}

TEST_CASE("plain mode: a stop while Redis is down does not sit out the reconnect backoff") {
  stop_while_redis_is_down(false);
}
