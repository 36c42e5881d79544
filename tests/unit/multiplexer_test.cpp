// A connection's request FIFO, with no socket and no clock: each case queues
// requests, feeds the bytes a Redis server sends (whole, split, wrong) and
// checks what completes, how, and when the connection must close.
#include "redis/multiplexer.hpp"

#include "resp_values.hpp"

#include <streamckpt/error.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using streamckpt::errc;
using streamckpt::make_error_code;
using streamckpt::redis::Command;
using streamckpt::redis::encode;
using streamckpt::redis::Multiplexer;
using streamckpt::redis::says_not_ready;
using streamckpt::redis::Value;
using streamckpt::test::error;
using Clock = Multiplexer::Clock;

namespace {

const Clock::time_point t0{std::chrono::hours(1)};
const Clock::time_point later = t0 + std::chrono::seconds(10);

std::string encoded(const std::vector<Command>& commands) {
  std::string out;
  for (const auto& c : commands) encode(out, c);
  return out;
}

}  // namespace

TEST_CASE("requests are pipelined into one output and completed by the replies in the order they were queued") {
  Multiplexer m;
  const std::vector<Command> first{{"PING"}};
  const std::vector<Command> second{{"INCR", "a"}, {"INCR", "b"}};
  const auto a = m.add(first, later);
  const auto b = m.add(second, later);
  CHECK(a != b);
  CHECK(m.queued() == 2);
  CHECK(m.take_output() == encoded(first) + encoded(second));
  CHECK_FALSE(m.has_output());
  CHECK(m.take_output().empty());

  auto read = m.on_bytes("+PONG\r\n:1\r\n");
  CHECK_FALSE(read.close);
  REQUIRE(read.done.size() == 1);  // the second has one reply of two
  CHECK(read.done[0].id == a);
  CHECK_FALSE(read.done[0].ec);
  REQUIRE(read.done[0].replies.size() == 1);
  CHECK(read.done[0].replies[0].str == "PONG");

  read = m.on_bytes(":7\r\n");
  REQUIRE(read.done.size() == 1);
  CHECK(read.done[0].id == b);
  REQUIRE(read.done[0].replies.size() == 2);
  CHECK(read.done[0].replies[0].integer == 1);
  CHECK(read.done[0].replies[1].integer == 7);
  CHECK(m.queued() == 0);
}

TEST_CASE("a reply split across reads completes its request only once it is whole") {
  Multiplexer m;
  const auto a = m.add({{"GET", "k"}}, later);
  auto read = m.on_bytes("$5\r\nhel");
  CHECK(read.done.empty());
  CHECK_FALSE(read.close);
  read = m.on_bytes("lo\r\n");
  REQUIRE(read.done.size() == 1);
  CHECK(read.done[0].id == a);
  CHECK(read.done[0].replies[0].str == "hello");
}

TEST_CASE("an error reply is the request's value, not a failure of the connection") {
  Multiplexer m;
  const auto a = m.add({{"XACK", "s", "g", "1-0"}}, later);
  auto read = m.on_bytes("-NOPERM this user has no permissions to run the 'xack' command\r\n");
  CHECK_FALSE(read.close);
  REQUIRE(read.done.size() == 1);
  CHECK(read.done[0].id == a);
  CHECK_FALSE(read.done[0].ec);
  CHECK(read.done[0].replies[0].is_error());
  CHECK(read.done[0].replies[0].str == "NOPERM this user has no permissions to run the 'xack' command");
}

TEST_CASE("a reply nobody asked for closes the connection with protocol_error") {
  Multiplexer m;
  const auto a = m.add({{"PING"}}, later);
  const auto b = m.add({{"PING"}, {"PING"}}, later);
  auto read = m.on_bytes("+PONG\r\n+PONG\r\n+PONG\r\n+PONG\r\n");
  CHECK(read.close == make_error_code(errc::protocol_error));
  REQUIRE(read.done.size() == 2);
  CHECK(read.done[0].id == a);
  CHECK(read.done[1].id == b);
  CHECK_FALSE(read.done[1].ec);  // completed before the extra reply came
  CHECK(m.queued() == 0);

  Multiplexer idle;
  read = idle.on_bytes("+OK\r\n");
  CHECK(read.close == make_error_code(errc::protocol_error));
  CHECK(read.done.empty());
}

TEST_CASE("bytes that are not RESP fail every queued request with protocol_error and drop the unsent output") {
  Multiplexer m;
  const auto a = m.add({{"PING"}}, later);
  const auto b = m.add({{"PING"}}, later);
  (void)m.take_output();
  const auto c = m.add({{"PING"}}, later);  // not written yet
  auto read = m.on_bytes("?what\r\n");
  CHECK(read.close == make_error_code(errc::protocol_error));
  REQUIRE(read.done.size() == 3);
  CHECK(read.done[0].id == a);
  CHECK(read.done[1].id == b);
  CHECK(read.done[2].id == c);
  for (const auto& d : read.done) {
    CHECK(d.ec == make_error_code(errc::protocol_error));
    CHECK(d.replies.empty());
  }
  CHECK_FALSE(m.has_output());
  CHECK(m.queued() == 0);
}

TEST_CASE("a not-ready reply to a single command fails it as not ready, every other request as outcome unknown") {
  Multiplexer m;
  const auto a = m.add({{"PING"}}, later);
  const auto b = m.add({{"XACK", "s", "g", "1-0"}}, later);
  auto read = m.on_bytes("-LOADING Redis is loading the dataset in memory\r\n");
  CHECK(read.close == make_error_code(errc::outcome_unknown));
  CHECK(read.not_ready == "LOADING Redis is loading the dataset in memory");
  REQUIRE(read.done.size() == 2);
  CHECK(read.done[0].id == a);
  CHECK(read.done[0].ec == make_error_code(errc::redis_not_ready));  // it did not run
  CHECK(read.done[1].id == b);
  CHECK(read.done[1].ec == make_error_code(errc::outcome_unknown));  // it may have
  CHECK(m.queued() == 0);
}

TEST_CASE("a not-ready reply within a request of several commands fails it as outcome unknown") {
  Multiplexer m;
  const auto a = m.add({{"SET", "k", "v"}, {"EVAL", "while true do end", "0"}}, later);
  auto read = m.on_bytes("+OK\r\n-BUSY Redis is busy running a script.\r\n");
  CHECK(read.close == make_error_code(errc::outcome_unknown));
  CHECK(read.not_ready == "BUSY Redis is busy running a script.");
  REQUIRE(read.done.size() == 1);
  CHECK(read.done[0].id == a);
  CHECK(read.done[0].ec == make_error_code(errc::outcome_unknown));  // the SET ran
  CHECK(read.done[0].replies.empty());
}

TEST_CASE("the replies that say Redis cannot serve yet, and only those") {
  CHECK(says_not_ready(error("LOADING Redis is loading the dataset in memory")));
  CHECK(says_not_ready(error("BUSY Redis is busy running a script.")));
  CHECK(says_not_ready(error("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.")));
  CHECK(says_not_ready(error("ERR max number of clients reached")));
  CHECK_FALSE(says_not_ready(error("BUSYGROUP Consumer Group name already exists")));
  CHECK_FALSE(says_not_ready(error("ERR unknown command 'FOO'")));
  Value status;
  status.type = Value::Type::status;
  status.str = "LOADING";
  CHECK_FALSE(says_not_ready(status));
}

TEST_CASE("the earliest deadline of the queued requests decides when the connection times out") {
  Multiplexer m;
  CHECK_FALSE(m.next_deadline());
  CHECK_FALSE(m.expired(t0));
  const auto a = m.add({{"PING"}}, t0 + std::chrono::seconds(5));
  const auto b =
      m.add({{"XREADGROUP", "GROUP", "g", "c", "BLOCK", "1000", "STREAMS", "s", ">"}}, t0 + std::chrono::seconds(3));
  const auto c = m.add({{"PING"}}, t0 + std::chrono::seconds(4));
  CHECK(m.next_deadline() == t0 + std::chrono::seconds(3));
  CHECK_FALSE(m.expired(t0 + std::chrono::seconds(2)));
  CHECK(m.expired(t0 + std::chrono::seconds(3)));

  auto read = m.on_bytes("+PONG\r\n");
  REQUIRE(read.done.size() == 1);
  CHECK(read.done[0].id == a);
  CHECK(m.next_deadline() == t0 + std::chrono::seconds(3));

  const auto failed = m.fail_all(make_error_code(errc::command_timeout));
  REQUIRE(failed.size() == 2);
  CHECK(failed[0].id == b);
  CHECK(failed[1].id == c);
  for (const auto& f : failed) CHECK(f.ec == make_error_code(errc::command_timeout));
  CHECK_FALSE(m.next_deadline());
}

TEST_CASE("after the connection ends, a reply half-read from it does not reach the next connection's requests") {
  Multiplexer m;
  (void)m.add({{"GET", "k"}}, later);
  auto read = m.on_bytes("$10\r\nabc");
  CHECK(read.done.empty());
  const auto failed = m.fail_all(make_error_code(errc::outcome_unknown));
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].ec == make_error_code(errc::outcome_unknown));

  const auto b = m.add({{"PING"}}, later);
  read = m.on_bytes("+PONG\r\n");
  CHECK_FALSE(read.close);
  REQUIRE(read.done.size() == 1);
  CHECK(read.done[0].id == b);
  CHECK(read.done[0].replies[0].str == "PONG");
}

TEST_CASE(
    "an error named to drop the link (READONLY behind Sentinel) drops it as a not-ready one; otherwise it is a value") {
  const std::string readonly = "-READONLY You can't write against a read only replica.\r\n";
  Multiplexer plain;
  plain.add({{"XACK", "s", "g", "1-0"}}, later);
  auto kept = plain.on_bytes(readonly);
  CHECK_FALSE(kept.close);
  REQUIRE(kept.done.size() == 1);
  CHECK_FALSE(kept.done[0].ec);
  REQUIRE(kept.done[0].replies.size() == 1);
  CHECK(kept.done[0].replies[0].error_prefix() == "READONLY");

  Multiplexer behind_sentinel;
  behind_sentinel.set_dropping_errors({"READONLY"});
  const auto a = behind_sentinel.add({{"XACK", "s", "g", "1-0"}}, later);
  const auto b = behind_sentinel.add({{"PING"}}, later);
  auto dropped = behind_sentinel.on_bytes(readonly);
  CHECK(dropped.close == make_error_code(errc::outcome_unknown));
  CHECK(dropped.not_ready == "READONLY You can't write against a read only replica.");
  REQUIRE(dropped.done.size() == 2);
  CHECK(dropped.done[0].id == a);
  CHECK(dropped.done[0].ec == make_error_code(errc::redis_not_ready));  // refused: it did not run
  CHECK(dropped.done[1].id == b);
  CHECK(dropped.done[1].ec == make_error_code(errc::outcome_unknown));
}
