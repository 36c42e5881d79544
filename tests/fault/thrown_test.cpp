// An exception that escapes the consumer's work: a log callback that throws
// inside the read loop (met when a real Redis drops the connection), and a
// check_resume callback that throws inside start(). Either fails the
// consumer with errc::internal_error and the exception's message; next() and
// stop() complete instead of waiting for ever, and nothing acked is lost.
// The library against a real redis-server.
#include "storage_rig.hpp"

#include <boost/asio/io_context.hpp>

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

using namespace streamckpt;
using namespace streamckpt::test;
namespace asio = boost::asio;

namespace {

constexpr int k_entries = 30;

void log_throws_in_the_read_loop(bool group) {
  Rig rig(group);
  rig.produce(k_entries);
  auto options = rig.options();
  options.log = [&rig](std::string_view line) {
    rig.logs.emplace_back(line);
    if (line.rfind("read failed", 0) == 0) throw std::runtime_error("the log sink is full");
  };
  App app;
  boost::system::error_code stopped;
  std::string detail;
  {
    asio::io_context io;
    Consumer consumer(io.get_executor(), options);
    // run() fails the test if the body hangs (next() or stop() waiting for a
    // read loop that an exception ended).
    run(io, [&]() -> asio::awaitable<void> {
      co_await start(consumer);
      spawn_app(io.get_executor(), consumer, app);
      REQUIRE(co_await eventually([&] { return consumer.durable_id() == rig.id_of(k_entries); }));
      if (rig.group) REQUIRE(co_await eventually([&] { return rig.pending().first == 0; }));
      // Redis drops every client connection: the read fails, its log line throws.
      rig.client.run({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
      REQUIRE(co_await eventually([&] { return app.end.failed(); }));
      detail = consumer.error_detail();
      stopped = co_await stop(consumer);
    }());
  }
  CHECK(app.end == errc::internal_error);
  CHECK(detail == "the read loop failed: the log sink is full");
  CHECK(rig.logged("the read loop failed: the log sink is full"));
  CHECK_FALSE(stopped);
  CHECK(ledger(app.handled, 1, k_entries) == k_exactly_once_in_order);
  CHECK(local_checkpoint(rig).id == rig.id_of(k_entries));
}

}  // namespace

TEST_CASE("group mode: a log callback that throws in the read loop fails the consumer; next() and stop() complete") {
  log_throws_in_the_read_loop(true);
}

TEST_CASE("plain mode: a log callback that throws in the read loop fails the consumer; next() and stop() complete") {
  log_throws_in_the_read_loop(false);
}

TEST_CASE("a check_resume that throws fails start() with its message, changes nothing, and a next start resumes") {
  Rig rig(true);
  rig.produce(k_entries);
  auto options = rig.options();
  options.check_resume = [](const ResumeReport&) -> std::string {
    throw std::runtime_error("the policy service is unreachable");
  };
  boost::system::error_code started, stopped;
  std::string detail;
  {
    asio::io_context io;
    Consumer consumer(io.get_executor(), options);
    run(io, [&]() -> asio::awaitable<void> {
      started = std::get<0>(co_await consumer.async_start(k_tuple));
      detail = consumer.error_detail();
      stopped = co_await stop(consumer);
    }());
  }
  CHECK(started == errc::internal_error);
  CHECK(detail == "async_start() failed: the policy service is unreachable");
  CHECK_FALSE(stopped);
  CHECK(rig.group_field("name").empty());  // the group was not created for it

  // The lease was released by stop(): the next start runs at once, from the start.
  App app;
  {
    asio::io_context io;
    Consumer consumer(io.get_executor(), rig.options());
    run(io, consume_to_the_end(consumer, app, rig.id_of(k_entries)));
  }
  CHECK(ledger(app.handled, 1, k_entries) == k_exactly_once_in_order);
}
