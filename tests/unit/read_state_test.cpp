// The reading machine, with no socket and no clock: each case feeds it the
// replies a Redis 7 server gives and checks the reads it asks for and what it
// says the replies mean.
#include "consumer/read_state.hpp"

#include "resp_values.hpp"

#include <streamckpt/error.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

using streamckpt::errc;
using streamckpt::make_error_code;
using streamckpt::StreamId;
using streamckpt::detail::AckTracker;
using streamckpt::detail::PendingLedger;
using streamckpt::detail::ReadState;
using streamckpt::redis::Command;
using streamckpt::redis::Value;
using streamckpt::test::array;
using streamckpt::test::error;
using streamckpt::test::integer;
using streamckpt::test::status;
using streamckpt::test::str;
using Kind = ReadState::Kind;
using Then = ReadState::Outcome::Then;
using Clock = ReadState::Clock;

namespace {

StreamId id(std::uint64_t ms) { return StreamId{ms, 0}; }

const Value nil{};

// An XREAD/XREADGROUP reply for stream "orders": each entry [id, [n, ms]];
// an ID in `deleted` has a nil payload (an entry deleted while pending).
Value entries(const std::vector<std::uint64_t>& ms, const std::vector<std::uint64_t>& deleted = {}) {
  std::vector<Value> list;
  for (const auto m : ms) {
    const bool gone = std::find(deleted.begin(), deleted.end(), m) != deleted.end();
    list.push_back(array({str(id(m).to_string()), gone ? nil : array({str("n"), str(std::to_string(m))})}));
  }
  return array({array({str("orders"), array(std::move(list))})});
}

// XINFO STREAM as Redis 7 gives it.
Value xinfo(std::uint64_t length, std::uint64_t added, std::uint64_t first, std::uint64_t last,
            std::uint64_t max_deleted = 0) {
  return array({str("length"), integer(static_cast<long long>(length)), str("last-generated-id"),
                str(id(last).to_string()), str("max-deleted-entry-id"), str(id(max_deleted).to_string()),
                str("entries-added"), integer(static_cast<long long>(added)), str("first-entry"),
                length ? array({str(id(first).to_string()), array({})}) : nil});
}

// The four replies of a checked read that went through.
std::vector<Value> checked(Value info, Value read) {
  return {status("OK"), status("QUEUED"), status("QUEUED"), array({std::move(info), std::move(read)})};
}

std::vector<StreamId> ids_of(const streamckpt::Batch& batch) {
  std::vector<StreamId> out;
  for (const auto& e : batch) out.push_back(e.id);
  return out;
}
std::vector<StreamId> ids(std::initializer_list<std::uint64_t> ms) {
  std::vector<StreamId> out;
  for (const auto m : ms) out.push_back(id(m));
  return out;
}

ReadState plain_at(std::uint64_t position, std::uint64_t entries_seen) {
  ReadState r({"orders", "", "", 100, std::chrono::milliseconds{2000}});
  r.start_at(id(position), entries_seen, StreamId::min());
  return r;
}

ReadState group_at(std::uint64_t position) {
  ReadState r({"orders", "billing", "c1", 100, std::chrono::milliseconds{2000}});
  r.start_at(id(position), position, StreamId::min());
  return r;
}

// A harness: the machine, the tracker and the ledger it is given, and a clock.
struct Reader {
  explicit Reader(ReadState s) : state(std::move(s)) {}

  ReadState state;
  AckTracker tracker;
  PendingLedger ledger;
  Clock::time_point now{std::chrono::hours(1)};

  ReadState::Outcome feed(std::vector<Value> replies) {
    const auto read = state.next_read();
    return state.on_reply(read, std::move(replies), tracker, ledger, now);
  }
  ReadState::Outcome feed(Value reply) {
    std::vector<Value> one;
    one.push_back(std::move(reply));
    return feed(std::move(one));
  }
};

}  // namespace

TEST_CASE("a plain consumer's read is checked: the stream's state and an XREAD without BLOCK in one transaction") {
  const auto r = plain_at(10, 10);
  const auto read = r.next_read();
  CHECK(read.kind == Kind::checked);
  CHECK(read.commands == std::vector<Command>{{"MULTI"},
                                              {"XINFO", "STREAM", "orders"},
                                              {"XREAD", "COUNT", "100", "STREAMS", "orders", "10-0"},
                                              {"EXEC"}});
  CHECK(read.deadline == std::chrono::milliseconds{0});
}

TEST_CASE("entries read are handed out in order, delivered to the tracker, and the next read starts after them") {
  Reader r{plain_at(10, 10)};
  auto out = r.feed(checked(xinfo(12, 12, 1, 12), entries({11, 12})));
  CHECK(out.then == Then::go_on);
  CHECK(ids_of(out.batch) == ids({11, 12}));
  CHECK(out.batch[1].fields == std::vector<std::pair<std::string, std::string>>{{"n", "12"}});
  CHECK_FALSE(out.idle);
  CHECK_FALSE(out.gap);
  CHECK(r.tracker.last_delivered() == id(12));
  CHECK(r.state.cursor() == id(12));
  CHECK(r.state.next_read().commands[2] == Command{"XREAD", "COUNT", "100", "STREAMS", "orders", "12-0"});
}

TEST_CASE("a checked read that finds nothing is followed by a blocking read, whose entries are read again checked") {
  Reader r{plain_at(10, 10)};
  auto out = r.feed(checked(xinfo(10, 10, 1, 10), entries({})));
  CHECK(out.batch.empty());
  CHECK_FALSE(out.idle);  // not an idle tick: it did not wait for `block`

  auto wake = r.state.next_read();
  CHECK(wake.kind == Kind::wake_up);
  CHECK(wake.commands == std::vector<Command>{{"XREAD", "COUNT", "100", "BLOCK", "2000", "STREAMS", "orders", "10-0"}});
  CHECK(wake.deadline == std::chrono::milliseconds{2000});

  // Entries came: none of them is handed out unchecked.
  out = r.feed(entries({11, 12}));
  CHECK(out.batch.empty());
  CHECK_FALSE(r.tracker.last_delivered());
  const auto again = r.state.next_read();
  CHECK(again.kind == Kind::checked);
  CHECK(again.commands[2] == Command{"XREAD", "COUNT", "100", "STREAMS", "orders", "10-0"});
  out = r.feed(checked(xinfo(12, 12, 1, 12), entries({11, 12})));
  CHECK(ids_of(out.batch) == ids({11, 12}));
}

TEST_CASE("a blocking read that times out is an idle tick; an idle stream is looked at every 5 s at most") {
  Reader r{plain_at(10, 10)};
  (void)r.feed(checked(xinfo(10, 10, 1, 10), entries({})));
  auto out = r.feed(nil);  // BLOCK timed out; never looked at yet
  CHECK(out.idle);
  CHECK(out.then == Then::check_stream);
  r.state.on_stream_checked(r.now);

  r.now += std::chrono::seconds(4);
  CHECK(r.state.next_read().kind == Kind::wake_up);
  out = r.feed(nil);
  CHECK(out.idle);
  CHECK(out.then == Then::go_on);

  r.now += std::chrono::seconds(1);
  out = r.feed(nil);
  CHECK(out.then == Then::check_stream);
}

TEST_CASE("a trim past the position before the read is a gap of exactly the entries lost, counted once") {
  // Entries 1..20 added, trimmed to 16..20 while the consumer stood at 10-0.
  Reader r{plain_at(10, 10)};
  auto out = r.feed(checked(xinfo(5, 20, 16, 20), entries({16, 17, 18, 19, 20})));
  REQUIRE(out.gap);
  CHECK(out.gap->entries == 5);
  CHECK(out.gap->covered_above == id(10));
  CHECK(out.log == std::vector<std::string>{"GAP: 5 entries were deleted after 10-0 before they were read; going on"});
  CHECK(ids_of(out.batch) == ids({16, 17, 18, 19, 20}));

  // The loss joins entries_seen only once an ack passes its position.
  CHECK(r.state.take_gaps_below(id(10)) == 0);
  CHECK(r.state.take_gaps_below(id(16)) == 5);
  CHECK(r.state.take_gaps_below(id(20)) == 0);

  // The next read accounts for all 20: no second gap.
  out = r.feed(checked(xinfo(6, 21, 16, 21), entries({21})));
  CHECK_FALSE(out.gap);
  CHECK(ids_of(out.batch) == ids({21}));
}

TEST_CASE("an XDEL above the position within what the read returned is one entry lost, and counted once") {
  // 1..14 added, 13 deleted, the consumer at 10-0.
  Reader r{plain_at(10, 10)};
  auto out = r.feed(checked(xinfo(13, 14, 1, 14, 13), entries({11, 12, 14})));
  REQUIRE(out.gap);
  CHECK(out.gap->entries == 1);
  CHECK(out.gap->covered_above == id(13));
  CHECK(out.log == std::vector<std::string>{"GAP: 1 entry was deleted after 10-0 before it was read; going on"});
  CHECK(r.state.take_gaps_below(id(13)) == 0);
  CHECK(r.state.take_gaps_below(id(14)) == 1);

  out = r.feed(checked(xinfo(14, 15, 1, 15, 13), entries({15})));
  CHECK_FALSE(out.gap);
}

TEST_CASE("MULTI refused: the read stands unchecked, the refusal is said once, and later reads are plain") {
  Reader r{plain_at(10, 10)};
  auto out = r.feed({error("NOPERM this user has no permissions to run the 'multi' command"), xinfo(11, 11, 1, 11),
                     entries({11}), error("ERR EXEC without MULTI")});
  CHECK(out.then == Then::go_on);
  CHECK(ids_of(out.batch) == ids({11}));
  CHECK(out.log == std::vector<std::string>{
                       "cannot check for gaps while reading: MULTI was refused (NOPERM this user has no permissions to "
                       "run the 'multi' command); a gap is seen at the next start"});
  const auto read = r.state.next_read();
  CHECK(read.kind == Kind::plain);
  CHECK(read.commands == std::vector<Command>{{"XREAD", "COUNT", "100", "BLOCK", "2000", "STREAMS", "orders", "11-0"}});
  out = r.feed(nil);
  CHECK(out.idle);
  CHECK(out.log.empty());
  CHECK(r.state.next_read().kind == Kind::plain);
}

TEST_CASE("a transaction aborted by Redis fails with the command it refused when queued") {
  Reader r{plain_at(10, 10)};
  auto out = r.feed({status("OK"), error("WRONGTYPE Operation against a key holding the wrong kind of value"),
                     status("QUEUED"), error("EXECABORT Transaction discarded because of previous errors.")});
  CHECK(out.then == Then::fail);
  CHECK(out.error == make_error_code(errc::wrong_type));
  CHECK(out.detail ==
        "key 'orders' is not a stream (WRONGTYPE): WRONGTYPE Operation against a key holding the wrong kind of value");

  Reader other{plain_at(10, 10)};
  out = other.feed({status("OK"), status("QUEUED"), status("QUEUED"), error("EXECABORT Transaction discarded")});
  CHECK(out.then == Then::fail);
  CHECK(out.error == make_error_code(errc::redis_error));
  CHECK(out.detail == "reading stream 'orders' failed: EXECABORT Transaction discarded");
}

TEST_CASE("in plain mode an entry at or below the last delivered is never handed out twice") {
  Reader r{plain_at(10, 10)};
  r.tracker.deliver(id(11));
  r.tracker.deliver(id(12));
  auto out = r.feed(checked(xinfo(13, 13, 1, 13), entries({11, 12, 13})));
  CHECK(ids_of(out.batch) == ids({13}));
  CHECK(out.again.empty());
  CHECK(out.xack.empty());
}

TEST_CASE("a reply that is not a stream reply, or the wrong number of replies, closes the connection") {
  Reader r{plain_at(10, 10)};
  auto out = r.feed(checked(xinfo(11, 11, 1, 11), integer(3)));
  CHECK(out.then == Then::reconnect);
  CHECK(out.error == make_error_code(errc::protocol_error));
  CHECK(out.batch.empty());

  out = r.feed(entries({11}));  // one reply where the transaction has four
  CHECK(out.then == Then::reconnect);
  CHECK(out.error == make_error_code(errc::protocol_error));
  CHECK_FALSE(r.tracker.last_delivered());
}

TEST_CASE("UNBLOCKED (the stream deleted under a blocked read) is said, and the stream looked at") {
  Reader r{group_at(0)};
  (void)r.feed(entries({}));  // the replay is over
  auto out = r.feed(error("UNBLOCKED the stream key no longer exists"));
  CHECK(out.then == Then::check_stream);
  CHECK(out.log ==
        std::vector<std::string>{"reading stream 'orders' was interrupted: UNBLOCKED the stream key no longer exists"});
  CHECK_FALSE(out.idle);
}

TEST_CASE("a group consumer replays its pending list from 0 without BLOCK, then reads '>' with BLOCK") {
  Reader r{group_at(5)};
  auto read = r.state.next_read();
  CHECK(read.kind == Kind::replay);
  CHECK(read.commands ==
        std::vector<Command>{{"XREADGROUP", "GROUP", "billing", "c1", "COUNT", "100", "STREAMS", "orders", "0-0"}});
  CHECK(read.deadline == std::chrono::milliseconds{0});

  auto out = r.feed(entries({6, 7}));
  CHECK(ids_of(out.again) == ids({6, 7}));  // pending, never handled here
  CHECK(out.batch.empty());
  CHECK_FALSE(out.idle);
  read = r.state.next_read();
  CHECK(read.kind == Kind::replay);
  CHECK(read.commands[0].back() == "7-0");

  out = r.feed(entries({}));
  CHECK_FALSE(out.idle);  // a replay that comes back empty is its end, not an idle tick
  CHECK_FALSE(r.state.replaying());
  read = r.state.next_read();
  CHECK(read.kind == Kind::fresh);
  CHECK(read.commands == std::vector<Command>{{"XREADGROUP", "GROUP", "billing", "c1", "COUNT", "100", "BLOCK", "2000",
                                               "STREAMS", "orders", ">"}});
  CHECK(read.deadline == std::chrono::milliseconds{2000});

  out = r.feed(entries({8, 9}));
  CHECK(ids_of(out.batch) == ids({8, 9}));
  CHECK(r.tracker.last_delivered() == id(9));
  out = r.feed(nil);
  CHECK(out.idle);
}

TEST_CASE("a replayed entry known handled is XACKed, never handed out; one never handled here is, whatever its ID") {
  Reader r{group_at(10)};
  r.ledger.load(ids({3, 9}));  // the last run committed them handled, their XACK unconfirmed
  auto out = r.feed(entries({3, 4, 9}));
  CHECK(out.xack == ids({3, 9}));
  CHECK(ids_of(out.again) == ids({4}));  // below the checkpoint, yet claimed into our list unhandled
  CHECK(out.batch.empty());
  // Known handled: they stay in the list every commit writes until XACKed.
  CHECK(r.ledger.list() == ids({3, 9}));
  r.ledger.xack_confirmed(id(3));
  CHECK(r.ledger.list() == ids({9}));
}

TEST_CASE("a replayed entry still in flight (delivered or acked, not durable) is neither XACKed nor handed out") {
  Reader r{group_at(0)};
  (void)r.feed(entries({}));
  (void)r.feed(entries({1, 2, 3}));
  REQUIRE(r.tracker.ack(id(1)) == AckTracker::AckResult::accepted);
  auto advance = r.tracker.take_advance();
  REQUIRE(advance);
  r.ledger.committing(advance->ids);  // 1: in a commit; 2, 3: delivered, not acked

  r.state.on_reconnect();
  CHECK(r.state.next_read().kind == Kind::replay);
  CHECK(r.state.next_read().commands[0].back() == "0-0");
  auto out = r.feed(entries({1, 2, 3}));
  CHECK(out.xack.empty());
  CHECK(out.again.empty());
  CHECK(out.batch.empty());

  r.ledger.durable(ids({1}));  // its commit succeeded: from now on a replay XACKs it
  r.state.on_reconnect();
  out = r.feed(entries({1}));
  CHECK(out.xack == ids({1}));
}

TEST_CASE("a pending entry whose payload was deleted is XACKed and counted, and said only when never handled") {
  Reader r{group_at(10)};
  r.ledger.load(ids({4}));
  auto out = r.feed(entries({3, 4, 5}, {3, 4}));
  CHECK(out.deleted_pending == 2);
  CHECK(out.xack == ids({3, 4}));
  CHECK(out.log == std::vector<std::string>{"pending entry 3-0 was deleted before it was handled"});
  CHECK(ids_of(out.again) == ids({5}));
}

TEST_CASE(
    "the end of the first replay forgets the rest of the loaded list: those were XACKed before the last run ended") {
  Reader r{group_at(10)};
  r.ledger.load(ids({1, 2, 3}));
  (void)r.feed(entries({2}));
  CHECK(r.ledger.list() == ids({1, 2, 3}));  // until the replay is over, all of them
  (void)r.feed(entries({}));
  CHECK(r.ledger.list() == ids({2}));  // 2 was given again: known handled until its XACK is confirmed
}

TEST_CASE("after a reconnect or a recreated group the pending list is replayed again from the start") {
  Reader r{group_at(0)};
  (void)r.feed(entries({}));
  CHECK(r.state.next_read().kind == Kind::fresh);
  r.state.on_reconnect();
  auto read = r.state.next_read();
  CHECK(read.kind == Kind::replay);
  CHECK(read.commands[0].back() == "0-0");
  (void)r.feed(entries({}));

  auto out = r.feed(error("NOGROUP No such key 'orders' or consumer group 'billing' in XREADGROUP with GROUP option"));
  CHECK(out.then == Then::recreate_group);
  CHECK(out.detail == "NOGROUP No such key 'orders' or consumer group 'billing' in XREADGROUP with GROUP option");
  CHECK(r.state.next_read().kind == Kind::fresh);  // nothing changes until the group is recreated
  r.state.on_group_recreated();
  read = r.state.next_read();
  CHECK(read.kind == Kind::replay);
  CHECK(read.commands[0].back() == "0-0");
}

TEST_CASE(
    "'>' giving entries at or below the last delivered (the group recreated below us) delivers each again unless "
    "known") {
  Reader r{group_at(0)};
  (void)r.feed(entries({}));
  (void)r.feed(entries({1, 2, 3}));
  for (const auto m : {1, 2}) REQUIRE(r.tracker.ack(id(m)) == AckTracker::AckResult::accepted);
  r.ledger.durable(r.tracker.take_advance()->ids);
  r.ledger.xack_confirmed(id(1));  // 1: XACKed; 2: durable, XACK unconfirmed; 3: delivered, not acked

  auto out = r.feed(entries({1, 2, 3, 4}));
  CHECK(out.xack == ids({1, 2}));
  CHECK(out.again.empty());
  CHECK(ids_of(out.batch) == ids({4}));
  CHECK(r.tracker.last_delivered() == id(4));
}

TEST_CASE("WRONGTYPE and other error replies to a read fail it with the stream's name") {
  Reader r{group_at(0)};
  auto out = r.feed(error("WRONGTYPE Operation against a key holding the wrong kind of value"));
  CHECK(out.then == Then::fail);
  CHECK(out.error == make_error_code(errc::wrong_type));
  CHECK(out.detail ==
        "key 'orders' is not a stream (WRONGTYPE): WRONGTYPE Operation against a key holding the wrong kind of value");
  out = r.feed(error("NOPERM this user has no permissions to access the 'orders' key"));
  CHECK(out.then == Then::fail);
  CHECK(out.error == make_error_code(errc::redis_error));
  CHECK(out.detail == "reading stream 'orders' failed: NOPERM this user has no permissions to access the 'orders' key");
}

TEST_CASE("an XDEL past the position, counted while nothing was read, is not counted again when entries come") {
  // Entry 10 is there, 11..14 were XDELed: one loss at least (how many is unknown).
  Reader r{plain_at(10, 10)};
  auto out = r.feed(checked(xinfo(10, 14, 1, 14, 14), entries({})));
  REQUIRE(out.gap);
  CHECK(out.gap->entries == 1);
  CHECK(out.gap->covered_above == id(14));
  CHECK(r.state.cursor() == id(10));

  out = r.feed(entries({15}));  // the blocking read wakes up
  CHECK(out.batch.empty());
  out = r.feed(checked(xinfo(11, 15, 1, 15, 14), entries({15})));
  CHECK_FALSE(out.gap);
  CHECK(ids_of(out.batch) == ids({15}));
}

TEST_CASE("after a reconnect a plain consumer waiting for entries reads checked again") {
  Reader r{plain_at(10, 10)};
  (void)r.feed(checked(xinfo(10, 10, 1, 10), entries({})));
  CHECK(r.state.next_read().kind == Kind::wake_up);
  r.state.on_reconnect();
  CHECK(r.state.next_read().kind == Kind::checked);
}
