// streamckpt/admin.hpp against a real redis-server and real stores: what each
// call changes in both copies, and the code and sentence of each refusal.
#include "redis_server.hpp"

#include <streamckpt/admin.hpp>

#include <doctest/doctest.h>

#include <boost/system/system_error.hpp>

using namespace streamckpt;
using namespace streamckpt::test;

namespace {

StreamId id_of(const std::string& text) { return *StreamId::parse(text); }

struct Fixture {
  RedisServer redis;
  Client client{redis.port()};
  TempDir dir;
  admin::Place place{dir.path() / "data", redis.url()};
  CheckpointKey key{"orders", "", "c1"};

  Outcome<admin::SetOutcome> set_to(const std::string& id, bool force = false) {
    admin::SetRequest request;
    request.id = id_of(id);
    request.force = force;
    return admin::set(place, key, request);
  }
  // Both copies, read back through inspect().
  admin::Inspection both() {
    auto found = admin::inspect(place, key);
    REQUIRE_MESSAGE(found.has_value(), found.error().detail);
    return *found;
  }
};

}  // namespace

TEST_CASE("inspect of a directory without a store fails with no_store and says which directory") {
  Fixture f;
  const auto found = admin::inspect(f.place, f.key);
  REQUIRE(!found);
  CHECK(found.error().code == errc::no_store);
  CHECK(found.error().detail ==
        "no checkpoint store in " + f.place.data_dir.string() + " (nothing was consumed with this --data-dir)");
  // value() throws the sentence.
  CHECK_THROWS_WITH_AS(found.value(), doctest::Contains("no checkpoint store in"), boost::system::system_error);
}

TEST_CASE("set writes the same checkpoint to both copies, and inspect resumes after it") {
  Fixture f;
  const auto ids = f.client.produce("orders", 1, 5);
  const auto set = f.set_to(ids[2]);
  REQUIRE_MESSAGE(set.has_value(), set.error().detail);
  CHECK(set->id == id_of(ids[2]));
  CHECK(set->epoch == 0);
  CHECK(!set->moved_to_entry);
  CHECK(set->local_before.state == CheckpointCopy::State::absent);
  CHECK(set->redis_before.state == CheckpointCopy::State::absent);
  const auto found = f.both();
  REQUIRE(found.local.valid());
  REQUIRE(found.redis);
  REQUIRE(found.redis->valid());
  CHECK(found.local.checkpoint->id == id_of(ids[2]));
  CHECK(found.redis->checkpoint->id == id_of(ids[2]));
  CHECK(found.effective == id_of(ids[2]));
  REQUIRE(found.stream);
  CHECK(found.stream->last_generated == id_of(ids[4]));

  // Without a Redis URL only the local copy is read.
  const auto local_only = admin::inspect({f.place.data_dir, {}}, f.key);
  REQUIRE(local_only.has_value());
  CHECK(!local_only->redis);
  CHECK(!local_only->stream);
  CHECK(local_only->effective == id_of(ids[2]));
}

TEST_CASE("set refuses to move backwards without force; with force it starts a new epoch in both copies") {
  Fixture f;
  const auto ids = f.client.produce("orders", 1, 5);
  REQUIRE(f.set_to(ids[3]).has_value());
  const auto refused = f.set_to(ids[1]);
  REQUIRE(!refused);
  CHECK(refused.error().code == errc::backwards_refused);
  CHECK(refused.error().detail == "refusing to move the checkpoint backwards from " + ids[3] + " to " + ids[1] +
                                      ": entries in between would be handled again; pass --force to do it anyway");
  CHECK(f.both().local.checkpoint->id == id_of(ids[3]));

  const auto forced = f.set_to(ids[1], true);
  REQUIRE_MESSAGE(forced.has_value(), forced.error().detail);
  CHECK(forced->epoch == 1);
  CHECK(forced->local_before.checkpoint->id == id_of(ids[3]));
  const auto found = f.both();
  CHECK(found.local.checkpoint->epoch == 1);
  CHECK(found.redis->checkpoint->epoch == 1);
  CHECK(found.effective == id_of(ids[1]));
}

TEST_CASE("set checks the stream before it makes a store: missing, WRONGTYPE, beyond its end") {
  Fixture f;
  auto missing = f.set_to("5-0");
  REQUIRE(!missing);
  CHECK(missing.error().code == errc::stream_missing);
  CHECK(missing.error().detail == "stream 'orders' does not exist; nothing was changed");

  f.client.run({"SET", "orders", "x"});
  auto wrong = f.set_to("5-0");
  REQUIRE(!wrong);
  CHECK(wrong.error().code == errc::wrong_type);
  CHECK(wrong.error().detail == "key 'orders' holds a string, not a stream (WRONGTYPE); nothing was changed");

  f.client.run({"DEL", "orders"});
  f.client.run({"XADD", "orders", "10-0", "n", "1"});
  auto beyond = f.set_to("11-0");
  REQUIRE(!beyond);
  CHECK(beyond.error().code == errc::beyond_stream);
  CHECK(beyond.error().detail ==
        "--id 11-0 is beyond the last-generated-id of stream 'orders' (10-0): entries added later up to it would "
        "be skipped; nothing was changed");
  CHECK(!std::filesystem::exists(f.place.data_dir));
}

TEST_CASE("set to an ID between entries, or to a time, names the entry at or below it") {
  Fixture f;
  for (const auto* id : {"100-0", "200-0", "300-0"}) f.client.run({"XADD", "orders", id, "n", "1"});
  const auto between = f.set_to("250-7");
  REQUIRE(between.has_value());
  CHECK(between->moved_to_entry);
  CHECK(between->id == id_of("200-0"));

  admin::SetRequest at;
  at.at_ms = 299;
  at.force = true;
  const auto by_time = admin::set(f.place, f.key, at);
  REQUIRE_MESSAGE(by_time.has_value(), by_time.error().detail);
  CHECK(by_time->entry_at_time == id_of("200-0"));
  CHECK(by_time->id == id_of("200-0"));

  at.at_ms = 99;
  const auto before_all = admin::set(f.place, f.key, at);
  REQUIRE(before_all.has_value());
  CHECK(!before_all->entry_at_time);
  CHECK(before_all->id == StreamId::min());
  CHECK(before_all->epoch == 1);  // forced back from 200-0

  admin::SetRequest neither;
  const auto bad = admin::set(f.place, f.key, neither);
  REQUIRE(!bad);
  CHECK(bad.error().code == errc::invalid_options);
}

TEST_CASE("a dry run reports what set and reset would do and changes nothing, and makes no store") {
  Fixture f;
  const auto ids = f.client.produce("orders", 1, 3);
  admin::SetRequest request;
  request.id = id_of(ids[1]);
  request.dry_run = true;
  const auto dry = admin::set(f.place, f.key, request);
  REQUIRE_MESSAGE(dry.has_value(), dry.error().detail);
  CHECK(dry->id == id_of(ids[1]));
  CHECK(!dry->group_moved);
  CHECK(!std::filesystem::exists(f.place.data_dir));

  REQUIRE(f.set_to(ids[1]).has_value());
  const auto reset = admin::reset(f.place, f.key, {.dry_run = true});
  REQUIRE(reset.has_value());
  CHECK(reset->store_found);
  CHECK(reset->local_before.checkpoint->id == id_of(ids[1]));
  CHECK(reset->redis_before.checkpoint->id == id_of(ids[1]));
  CHECK(f.both().local.checkpoint->id == id_of(ids[1]));
}

TEST_CASE("reset deletes both copies; without a store it refuses unless forced; a group keeps its position") {
  Fixture f;
  const auto ids = f.client.produce("orders", 1, 3);
  TempDir elsewhere;
  const admin::Place mistyped{elsewhere.path() / "typo", f.redis.url()};
  const auto refused = admin::reset(mistyped, f.key, {});
  REQUIRE(!refused);
  CHECK(refused.error().code == errc::no_store);

  f.key.group = "g";
  f.client.run({"XGROUP", "CREATE", "orders", "g", "0"});
  REQUIRE(f.set_to(ids[2]).has_value());
  const auto reset = admin::reset(f.place, f.key, {});
  REQUIRE_MESSAGE(reset.has_value(), reset.error().detail);
  CHECK(reset->store_found);
  CHECK(reset->group_position == id_of(ids[2]));  // set moved the group to the checkpoint
  const auto found = f.both();
  CHECK(found.local.state == CheckpointCopy::State::absent);
  CHECK(found.redis->state == CheckpointCopy::State::absent);
  CHECK(!found.effective);

  // Forced without a store: the Redis copy alone.
  REQUIRE(f.set_to(ids[1], true).has_value());
  const auto forced = admin::reset({elsewhere.path() / "typo", f.redis.url()}, f.key, {.force = true});
  REQUIRE(forced.has_value());
  CHECK(!forced->store_found);
  const auto after = f.both();
  CHECK(after.local.valid());
  CHECK(after.redis->state == CheckpointCopy::State::absent);
}

TEST_CASE("inspect judges copies beyond the stream's end invalid, as start-up does; without Redis it cannot") {
  Fixture f;
  const auto ids = f.client.produce("orders", 1, 5);
  REQUIRE(f.set_to(ids[4]).has_value());
  // Redis lost the stream: it came back with one old entry.
  f.client.run({"DEL", "orders"});
  f.client.run({"XADD", "orders", "1-0", "n", "1"});
  const auto found = f.both();
  CHECK(found.local.state == CheckpointCopy::State::invalid);
  CHECK(!found.local.reason.empty());
  CHECK(found.redis->state == CheckpointCopy::State::invalid);
  CHECK(!found.effective);

  const auto local_only = admin::inspect({f.place.data_dir, {}}, f.key);
  REQUIRE(local_only.has_value());
  CHECK(local_only->local.valid());
  CHECK(local_only->effective == id_of(ids[4]));

  const auto invalid_url = admin::inspect({f.place.data_dir, "redis://127.0.0.1:notaport"}, f.key);
  REQUIRE(!invalid_url);
  CHECK(invalid_url.error().code == errc::invalid_url);
  CHECK(invalid_url.error().detail.rfind("invalid Redis URL 'redis://127.0.0.1:notaport': ", 0) == 0);
}

TEST_CASE("list gives every record of a store in key order") {
  Fixture f;
  f.client.produce("orders", 1, 2);
  for (const auto* consumer : {"c2", "c1"}) {
    f.key.consumer = consumer;
    REQUIRE(f.set_to("0-0").has_value());
  }
  const auto listing = admin::list(f.place.data_dir);
  REQUIRE(listing.has_value());
  REQUIRE(listing->checkpoints.size() == 2);
  CHECK(listing->checkpoints[0].key.consumer == "c1");
  CHECK(listing->checkpoints[1].key.consumer == "c2");
  CHECK(listing->checkpoints[0].copy.valid());
  CHECK(listing->undecodable == 0);
}

TEST_CASE("describe_group gives each member's pending entries, checkpoints and lag; a missing group is no_group") {
  Fixture f;
  const auto ids = f.client.produce("orders", 1, 10);
  f.client.run({"XGROUP", "CREATE", "orders", "g", "0"});
  f.client.run({"XREADGROUP", "GROUP", "g", "m1", "COUNT", "4", "STREAMS", "orders", ">"});
  f.key = {"orders", "g", "m1"};
  REQUIRE(f.set_to(ids[3]).has_value());  // moves the group to ids[3], drops m1's pending entries
  f.client.run({"XREADGROUP", "GROUP", "g", "m2", "COUNT", "2", "STREAMS", "orders", ">"});

  const auto d = admin::describe_group(f.place, "orders", "g");
  REQUIRE_MESSAGE(d.has_value(), d.error().detail);
  CHECK(d->stream.length == 10);
  CHECK(d->group.last_delivered == id_of(ids[5]));
  CHECK(d->group.pending == 2);
  REQUIRE(d->members.size() == 1);  // DELCONSUMER removed m1
  CHECK(d->members[0].name == "m2");
  CHECK(d->members[0].pending == 2);
  CHECK(d->members[0].redis.state == CheckpointCopy::State::absent);
  CHECK(!d->members[0].lag);

  const auto none = admin::describe_group(f.place, "orders", "nope");
  REQUIRE(!none);
  CHECK(none.error().code == errc::no_group);
  CHECK(none.error().detail == "stream 'orders' has no group 'nope'");
  const auto missing = admin::describe_group(f.place, "gone", "g");
  REQUIRE(!missing);
  CHECK(missing.error().code == errc::stream_missing);
}
