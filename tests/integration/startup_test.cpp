// Start-up resolution, one test per case: which copy wins, which copy is
// invalid and why, and what the stream's state does to the position.
#include "local_record.hpp"
#include "scenario.hpp"

#include "redis/checkpoint_store.hpp"

#include <csignal>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <thread>

using namespace streamckpt::test;
using streamckpt::Checkpoint;
using streamckpt::StreamId;

namespace {

// Writes the Redis copy through the production Lua script, forced.
void force_redis_copy(Scenario& s, StreamId id, std::uint64_t epoch = 0) {
  Checkpoint c;
  c.key = s.key();
  c.id = id;
  c.epoch = epoch;
  c.updated_ms = 1;
  const auto cmds = streamckpt::redis::update_commands(c, "test", true, false);
  const auto r = s.redis().run(cmds.eval);
  REQUIRE(r->type == REDIS_REPLY_INTEGER);
  REQUIRE(r->integer == 1);
}

std::string dump(Scenario& s) {
  auto r = s.redis().run({"DUMP", s.hash_key()});
  REQUIRE(r->type == REDIS_REPLY_STRING);
  return std::string(r->str, r->len);
}

void restore(Scenario& s, const std::string& payload) {
  auto r = s.redis().run({"RESTORE", s.hash_key(), "0", payload, "REPLACE"});
  REQUIRE(r->type == REDIS_REPLY_STATUS);
}

// Starts `consume extra…` in the background on a stream of entries 1..4, and
// waits until it has handled them all: it then waits for more.
std::unique_ptr<CliProcess> consume_first_four(Scenario& s, const std::vector<std::string>& extra) {
  auto running = std::make_unique<CliProcess>(s.consume_args(extra), s.dir().path());
  for (int i = 0; i < 1000 && handled_numbers(running->out()).size() < 4; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(handled_numbers(running->out()) == Scenario::range(1, 4));
  return running;
}

// Its result, once it exited 0 (within a minute).
CliResult ended_cleanly(CliProcess& running) {
  const auto r = running.wait_for(std::chrono::seconds(60));
  REQUIRE_MESSAGE(r, "still running a minute later; stderr: ", running.err());
  REQUIRE_MESSAGE(r->exit_code == 0, r->err);
  return *r;
}

std::vector<int> joined(std::vector<int> head, const std::vector<int>& tail) {
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

void copy_dir(const std::filesystem::path& from, const std::filesystem::path& to) {
  std::filesystem::remove_all(to);
  std::filesystem::copy(from, to, std::filesystem::copy_options::recursive);
}

}  // namespace

TEST_CASE("local copy only: resumes from it and re-seeds the Redis copy") {
  Scenario s;
  const auto ids = s.produce(10);
  REQUIRE(s.consume_n(4).exit_code == 0);
  s.redis().run({"DEL", s.hash_key()});
  const auto r = s.consume_rest();
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(contains(r.err, "resume after " + ids[3] + " (source: local); local copy: " + ids[3] + "; redis copy: absent"));
  CHECK(contains(r.err, "redis copy re-seeded"));
  CHECK(s.handled() == Scenario::range(1, 10));
  CHECK(s.hash_field("id") == ids[9]);
}

TEST_CASE("Redis copy only (data directory deleted): resumes from Redis and re-seeds the local store") {
  Scenario s;
  const auto ids = s.produce(10);
  REQUIRE(s.consume_n(4).exit_code == 0);
  std::filesystem::remove_all(s.data_dir());
  const auto r = s.consume_rest();
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(contains(r.err, "resume after " + ids[3] + " (source: redis); local copy: absent; redis copy: " + ids[3]));
  CHECK(contains(r.err, "local copy re-seeded"));
  CHECK(s.handled() == Scenario::range(1, 10));
}

TEST_CASE("both copies, local higher: the local copy wins") {
  Scenario s;
  const auto ids = s.produce(10);
  REQUIRE(s.consume_n(3).exit_code == 0);
  const auto old_hash = dump(s);
  REQUIRE(s.consume_n(3).exit_code == 0);
  restore(s, old_hash);  // Redis lost its last write-through
  const auto r = s.consume_rest();
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(contains(r.err,
                 "resume after " + ids[5] + " (source: local); local copy: " + ids[5] + "; redis copy: " + ids[2]));
  CHECK(s.handled() == Scenario::range(1, 10));
}

TEST_CASE("both copies, Redis higher: the Redis copy wins") {
  Scenario s;
  const auto ids = s.produce(10);
  REQUIRE(s.consume_n(3).exit_code == 0);
  copy_dir(s.data_dir(), s.dir().path() / "old");
  REQUIRE(s.consume_n(3).exit_code == 0);
  copy_dir(s.dir().path() / "old", s.data_dir());  // the disk went back in time
  const auto r = s.consume_rest();
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(contains(r.err,
                 "resume after " + ids[5] + " (source: redis); local copy: " + ids[2] + "; redis copy: " + ids[5]));
  CHECK(contains(r.err, "local copy re-seeded"));
  CHECK(s.handled() == Scenario::range(1, 10));
}

TEST_CASE("a local record with a flipped bit is reported invalid and the Redis copy is used") {
  Scenario s;
  const auto ids = s.produce(10);
  REQUIRE(s.consume_n(5).exit_code == 0);
  flip_bit_in_record(s.data_dir(), s.key());
  const auto shown = s.checkpoint("show", {"--json"});
  CHECK(
      contains(shown.out, R"("local":{"id":null,"valid":false,"reason":"checkpoint record fails its CRC-32C check"})"));
  CHECK(contains(shown.out, R"("effective":")" + ids[4] + "\""));
  const auto r = s.consume_rest();
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(contains(r.err, "(source: redis); local copy: invalid (checkpoint record fails its CRC-32C check)"));
  CHECK(s.handled() == Scenario::range(1, 10));
}

TEST_CASE("garbage in the Redis hash is reported invalid and the local copy is used") {
  struct Case {
    const char* name;
    std::function<void(Scenario&)> spoil;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {"wrong type",
       [](Scenario& s) {
         s.redis().run({"DEL", s.hash_key()});
         s.redis().run({"SET", s.hash_key(), "x"});
       },
       "redis copy: invalid (the key holds a value that is not a hash)"},
      {"unparsable id",
       [](Scenario& s) {
         s.redis().run({"HSET", s.hash_key(), "id", "12-x"});
       },
       "redis copy: invalid (field id '12-x' is not a stream ID)"},
      {"bad crc",
       [](Scenario& s) {
         s.redis().run({"HSET", s.hash_key(), "epoch", "7"});
       },
       "redis copy: invalid (field crc does not match (corrupted, or copied from another key))"},
      {"id beyond the stream's end", [](Scenario& s) { force_redis_copy(s, StreamId(UINT64_MAX - 1, 0)); },
       "redis copy: invalid (checkpoint 18446744073709551614-0 is beyond the stream's last-generated-id"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    Scenario s;
    const auto ids = s.produce(10);
    REQUIRE(s.consume_n(5).exit_code == 0);
    c.spoil(s);
    const auto r = s.consume_rest();
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    CHECK(contains(r.err, "resume after " + ids[4] + " (source: local)"));
    CHECK(contains(r.err, c.reason));
    CHECK(s.handled() == Scenario::range(1, 10));
  }
}

TEST_CASE("both copies invalid: the start policy decides") {
  for (const std::string policy : {"earliest", "latest", "fail"}) {
    CAPTURE(policy);
    Scenario s;
    s.produce(10);
    REQUIRE(s.consume_n(5).exit_code == 0);
    flip_bit_in_record(s.data_dir(), s.key());
    s.redis().run({"HSET", s.hash_key(), "id", "garbage"});
    s.redis().run({"XGROUP", "DESTROY", "orders", "billing"});
    const auto r = s.consume({"--idle-exit-ms", "300", "--start", policy});
    if (policy == "fail") {
      CHECK(r.exit_code == 1);
      CHECK(contains(r.err, "streamckpt: error: no valid checkpoint and --start is fail\n"));
      continue;
    }
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    CHECK(contains(r.err, "(source: start-policy)"));
    if (policy == "earliest") CHECK(handled_numbers(r.out) == Scenario::range(1, 10));
    if (policy == "latest") CHECK(handled_numbers(r.out).empty());
  }
}

TEST_CASE("both copies invalid with a file sink: nothing says how much of the file was handled, so it is kept") {
  Scenario s;
  s.produce(10);
  const auto file = s.dir().path() / "out.jsonl";
  const std::vector<std::string> sink = {"--sink", "file:" + file.string()};
  auto first_args = sink;
  first_args.insert(first_args.end(), {"--max-events", "5"});
  REQUIRE(s.consume(first_args).exit_code == 0);
  const auto written = read_file(file);
  REQUIRE(handled_numbers(written) == Scenario::range(1, 5));
  flip_bit_in_record(s.data_dir(), s.key());
  s.redis().run({"HSET", s.hash_key(), "id", "garbage"});
  auto again = sink;
  again.insert(again.end(), {"--idle-exit-ms", "300"});
  const auto r = s.consume(again);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "streamckpt: error: sink file " + file.string() + " has " + std::to_string(written.size()) +
                            " bytes, and no valid checkpoint records how many of them were handled (see the resume "
                            "line above), so the file cannot be cut back to what was handled; move the file away"));
  CHECK(read_file(file) == written);
}

TEST_CASE("a start that fails, the sink a symlink to a missing file: no target left behind, the link kept") {
  Scenario s;
  s.produce(10);
  REQUIRE(s.consume({"--max-events", "5"}).exit_code == 0);
  s.redis().run({"SET", s.hash_key() + ":lease", "elsewhere:1", "PX", "60000"});
  std::filesystem::create_directory(s.dir().path() / "out");
  const auto target = s.dir().path() / "out" / "orders.jsonl";
  const auto link = s.dir().path() / "orders.jsonl";
  std::filesystem::create_symlink(target, link);
  const auto r = s.consume({"--sink", "file:" + link.string(), "--idle-exit-ms", "300"});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "streamckpt: error: another instance (elsewhere:1) is running as "));
  CHECK(!std::filesystem::exists(target));
  CHECK(std::filesystem::is_symlink(link));
}

TEST_CASE("a stream deleted and recreated behind the checkpoint is reported as regressed") {
  for (const std::string policy : {"first", "head", "fail"}) {
    CAPTURE(policy);
    Scenario s;
    s.produce(10);
    REQUIRE(s.consume_n(5).exit_code == 0);
    s.redis().run({"DEL", "orders"});
    for (const char* id : {"1-1", "1-2", "1-3"}) s.redis().run({"XADD", "orders", id, "n", std::string("10") + id[2]});
    const auto r = s.consume({"--idle-exit-ms", "300", "--on-regressed", policy});
    if (policy == "fail") {
      CHECK(r.exit_code == 1);
      CHECK(contains(r.err, "the stream went backwards) and --on-regressed is fail"));
      continue;
    }
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    CHECK(contains(r.err, "REGRESSED"));
    CHECK(contains(r.err, "is beyond the stream's last-generated-id 1-3 (the stream went backwards)"));
    if (policy == "first") {
      CHECK(contains(r.err, "resume after 0-0 (source: regressed-policy)"));
      CHECK(handled_numbers(r.out) == std::vector<int>{101, 102, 103});
    } else {
      CHECK(contains(r.err, "resume after 1-3 (source: regressed-policy)"));
      CHECK(handled_numbers(r.out).empty());
    }
    // Both copies were forced back to the new position, with a new epoch.
    CHECK(s.hash_field("epoch") == "1");
  }
}

TEST_CASE("a stream trimmed past the checkpoint is a gap, reported with the number of entries lost") {
  for (const bool group : {true, false}) {
    CAPTURE(group);
    Scenario s(group);
    s.produce(10);
    REQUIRE(s.consume_n(3).exit_code == 0);
    s.redis().run({"XTRIM", "orders", "MAXLEN", "4"});  // deletes 1..6: 4, 5 and 6 were never handled
    const auto r = s.consume_rest();
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    CHECK(contains(r.err, "GAP: 3 entries were deleted before they were handled"));
    CHECK(handled_numbers(r.out) == Scenario::range(7, 10));
  }
}

TEST_CASE("plain mode: a stream trimmed past the consumer while it runs is a gap, counted once, not again at restart") {
  Scenario s(false);
  const auto ids = s.produce(4);
  auto running = consume_first_four(s, {"--batch", "2", "--block-ms", "100", "--idle-exit-ms", "3000", "--metrics"});

  // While it cannot read: 100 more, trimmed to the last 5 (5..99 are gone
  // before it read them), then 5 more.
  running->signal(SIGSTOP);
  s.produce(100);
  s.redis().run({"XTRIM", "orders", "MAXLEN", "5"});
  s.produce(5);
  running->signal(SIGCONT);

  const auto r = ended_cleanly(*running);
  CHECK(handled_numbers(r.out) == joined(Scenario::range(1, 4), Scenario::range(100, 109)));
  CHECK(contains(r.err, "GAP: 95 entries were deleted after " + ids[3] + " before they were read; going on"));
  CHECK(contains(r.err, "\"gaps\":1,\"gap_entries\":95,"));

  // The checkpoint counts the lost entries as seen: a restart after a trim of
  // everything it handled reports no gap (with 14 seen it would say 95).
  s.redis().run({"XTRIM", "orders", "MAXLEN", "0"});
  s.produce(2);
  const auto again = s.consume_rest();
  REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  CHECK(!contains(again.err, "GAP"));
  CHECK(handled_numbers(again.out) == Scenario::range(110, 111));
}

TEST_CASE("plain mode: an entry XDELed while the consumer runs, inside what it reads next, is a gap of one") {
  Scenario s(false);
  const auto ids = s.produce(4);
  auto running = consume_first_four(s, {"--batch", "20", "--block-ms", "100", "--idle-exit-ms", "3000", "--metrics"});

  running->signal(SIGSTOP);
  const auto more = s.produce(10);             // 5 … 14
  s.redis().run({"XDEL", "orders", more[3]});  // 8
  running->signal(SIGCONT);

  const auto r = ended_cleanly(*running);
  CHECK(handled_numbers(r.out) == joined(Scenario::range(1, 7), Scenario::range(9, 14)));
  CHECK(contains(r.err, "GAP: 1 entry was deleted after " + ids[3] + " before it was read; going on"));
  CHECK(contains(r.err, "\"gaps\":1,\"gap_entries\":1,"));

  // Counted in the checkpoint: a restart reports no gap.
  const auto again = s.consume_rest();
  REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  CHECK(!contains(again.err, "GAP"));
}

TEST_CASE("a deleted group is recreated at the checkpoint, not at 0 or $") {
  Scenario s;
  s.produce(10);
  REQUIRE(s.consume_n(4).exit_code == 0);
  s.redis().run({"XGROUP", "DESTROY", "orders", "billing"});
  const auto r = s.consume_rest();
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(contains(r.err, "group created"));
  CHECK(s.handled() == Scenario::range(1, 10));
}

TEST_CASE("a group behind the checkpoint is moved forward with XGROUP SETID") {
  Scenario s;
  s.produce(10);
  REQUIRE(s.consume_n(4).exit_code == 0);
  s.redis().run({"XGROUP", "SETID", "orders", "billing", "0"});
  const auto r = s.consume_rest();
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(contains(r.err, "group moved forward"));
  CHECK(s.handled() == Scenario::range(1, 10));
}

TEST_CASE("a second live instance with the same identity refuses to start; --wait-lease waits") {
  Scenario s;
  s.produce(5);
  std::vector<std::string> first_args = {"consume"};
  const auto id = s.identity_args();
  first_args.insert(first_args.end(), id.begin(), id.end());
  CliProcess first(first_args, s.dir().path());
  for (int i = 0; i < 300 && s.redis().run({"EXISTS", s.hash_key() + ":lease"})->integer == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(s.redis().run({"EXISTS", s.hash_key() + ":lease"})->integer == 1);

  // Same identity, another host (another data directory).
  std::vector<std::string> second_args = {"consume",
                                          "--redis",
                                          s.server().url(),
                                          "--stream",
                                          "orders",
                                          "--group",
                                          "billing",
                                          "--consumer",
                                          "edge-7",
                                          "--data-dir",
                                          (s.dir().path() / "other").string(),
                                          "--idle-exit-ms",
                                          "300"};
  // Its sink file is created before the lease is taken; the refused start
  // removes it again.
  const auto sink_file = s.dir().path() / "second.jsonl";
  auto refused_args = second_args;
  refused_args.insert(refused_args.end(), {"--sink", "file:" + sink_file.string()});
  const auto refused = run_cli(refused_args);
  CHECK(!std::filesystem::exists(sink_file));
  CHECK(refused.exit_code == 1);
  CHECK(contains(refused.err, "streamckpt: error: another instance ("));
  CHECK(contains(
      refused.err,
      "its lease streamckpt:{orders}:billing:edge-7:lease is live; stop it first, or wait with --wait-lease\n"));

  second_args.push_back("--wait-lease");
  CliProcess waiting(second_args, s.dir().path());
  // Once it says it waits (however slowly this build starts), the first stops.
  while (waiting.running() && !contains(waiting.err(), "waiting for the lease held by"))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  first.signal(SIGTERM);
  CHECK(first.wait().exit_code == 0);
  const auto second = waiting.wait();
  CHECK(second.exit_code == 0);
  CHECK(contains(second.err, "waiting for the lease held by"));
  CHECK(s.redis().run({"EXISTS", s.hash_key() + ":lease"})->integer == 0);  // released at stop
}

TEST_CASE("a lease key that is not a lease, or that never expires, is named as such; --wait-lease does not wait") {
  Scenario s;
  s.produce(5);
  const auto lease = s.hash_key() + ":lease";
  s.redis().run({"HSET", lease, "x", "1"});
  const auto not_lease = s.consume_rest();
  CHECK(not_lease.exit_code == 1);
  CHECK(contains(not_lease.err, "streamckpt: error: key " + lease +
                                    " is not a lease (WRONGTYPE Operation against a key holding the wrong kind of "
                                    "value); it was not made by streamckpt: delete it if nothing else uses it\n"));

  s.redis().run({"DEL", lease});
  s.redis().run({"SET", lease, "someone"});  // no expiry
  const auto forever = s.consume({"--idle-exit-ms", "300", "--wait-lease"});
  CHECK(forever.exit_code == 1);
  CHECK(contains(forever.err, "streamckpt: error: the lease " + lease +
                                  " (held by 'someone') has no expiry, so it is never released; it was not made by "
                                  "streamckpt, or its TTL was removed. Delete it if that instance is not running\n"));
  CHECK(s.handled().empty());
  CHECK(s.redis().run({"GET", lease})->str == std::string("someone"));  // left as it was
}

TEST_CASE(
    "group mode, no checkpoint but a group that delivered entries: the resume line says reading goes on after it") {
  Scenario s;
  const auto ids = s.produce(10);
  REQUIRE(s.consume_n(6).exit_code == 0);
  REQUIRE(s.checkpoint("reset").exit_code == 0);
  const auto r = s.consume_rest();
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  INFO(r.err);
  CHECK(contains(r.err, "resume after 0-0 (source: start-policy)"));
  // The first run read all ten in one batch and handled six: the group
  // delivered up to the tenth, and 7..10 wait in this consumer's pending list.
  CHECK(contains(r.err, "; the group had delivered up to " + ids[9] +
                            ": this consumer's pending entries come first, then the entries after it\n"));
  CHECK(handled_numbers(r.out) == Scenario::range(7, 10));
}

TEST_CASE("a store that RocksDB finds corrupt: exit 1 with what to do; moved away, the Redis copy resumes") {
  Scenario s;
  s.produce(5);
  REQUIRE(s.consume_rest().exit_code == 0);
  { std::ofstream(s.data_dir() / "CURRENT", std::ios::trunc) << "garbage\n"; }
  const auto r = s.consume_rest();
  CHECK(r.exit_code == 1);
  const auto dir = s.data_dir().string();
  CHECK(contains(r.err, "streamckpt: error: cannot open data directory " + dir + ": Corruption: "));
  CHECK(contains(r.err,
                 ". Move the directory away to resume from the Redis copy, as after a lost disk (the "
                 "application's column families in it are then lost too), or repair it with 'ldb repair --db=" +
                     dir + "'\n"));
  std::filesystem::rename(s.data_dir(), s.dir().path() / "corrupt");
  s.produce(3);
  const auto resumed = s.consume_rest();
  REQUIRE_MESSAGE(resumed.exit_code == 0, resumed.err);
  CHECK(contains(resumed.err, "(source: redis)"));
  CHECK(s.handled() == Scenario::range(1, 8));
}

TEST_CASE(
    "a non-empty --data-dir that holds no store is refused before anything changes in Redis, and left as it was") {
  Scenario s;
  s.produce(3);
  std::filesystem::create_directories(s.data_dir());
  { std::ofstream(s.data_dir() / "MANIFEST-000001") << "another program's file\n"; }
  const auto r = s.consume_rest();
  CHECK(r.exit_code == 1);
  CHECK(r.err == "streamckpt: error: data directory " + s.data_dir().string() +
                     " is not empty and holds no streamckpt store (it has 'MANIFEST-000001'); use a new or empty "
                     "directory\n");
  CHECK(read_file(s.data_dir() / "MANIFEST-000001") == "another program's file\n");
  CHECK(std::distance(std::filesystem::directory_iterator(s.data_dir()), std::filesystem::directory_iterator()) == 1);
  CHECK(s.redis().run({"XINFO", "GROUPS", "orders"})->elements == 0);  // no group made
  CHECK(s.handled().empty());
}

TEST_CASE("the Redis hash read by any client matches checkpoint show") {
  Scenario s;
  const auto ids = s.produce(10);
  REQUIRE(s.consume_n(7).exit_code == 0);
  auto all = s.redis().run({"HGETALL", s.hash_key()});
  std::map<std::string, std::string> fields;
  for (std::size_t i = 0; i + 1 < all->elements; i += 2)
    fields[all->element[i]->str] = std::string(all->element[i + 1]->str, all->element[i + 1]->len);
  CHECK(fields["id"] == ids[6]);
  const auto id = *StreamId::parse(ids[6]);
  CHECK(fields["pos"] == id.to_padded());
  CHECK(fields["epoch"] == "0");
  CHECK(fields["entries_seen"] == "7");
  const auto shown = s.checkpoint("show", {"--json"});
  CHECK(contains(shown.out, R"("redis":{"id":")" + fields["id"] +
                                R"(","valid":true,"reason":null,"epoch":0,"updated_ms":)" + fields["updated_ms"]));
  CHECK(contains(shown.out, R"("effective":")" + ids[6] + "\"}"));
}

TEST_CASE("the Redis copy never moves backwards, whoever writes it") {
  Scenario s;
  const auto write = [&](StreamId id, bool force, bool fenced, std::uint64_t epoch = 0) {
    Checkpoint c;
    c.key = s.key();
    c.id = id;
    c.epoch = epoch;
    return s.redis().run(streamckpt::redis::update_commands(c, "me", force, fenced).eval)->integer;
  };
  CHECK(write(StreamId(5, 0), false, false) == 1);
  CHECK(write(StreamId(3, 0), false, false) == 0);
  CHECK(s.hash_field("id") == "5-0");
  CHECK(write(StreamId(10, 0), false, false) == 1);
  CHECK(write(StreamId(9, 18446744073709551615ULL), false, false) == 0);  // no 64-bit rounding
  CHECK(s.hash_field("id") == "10-0");
  CHECK(write(StreamId(2, 0), false, false, 1) == 1);  // a new epoch (checkpoint set --force)
  CHECK(s.hash_field("id") == "2-0");
  s.redis().run({"HSET", s.hash_key(), "pos", "zzz"});
  CHECK(write(StreamId(1, 0), false, false, 1) == 1);   // garbage is overwritten
  CHECK(write(StreamId(20, 0), false, true, 1) == -1);  // fenced, and we do not hold the lease
  s.redis().run({"SET", s.hash_key() + ":lease", "me"});
  CHECK(write(StreamId(20, 0), false, true, 1) == 1);
}

TEST_CASE("checkpoint set refuses to move backwards without --force, list shows it, reset deletes both copies") {
  Scenario s;
  const auto ids = s.produce(10);
  REQUIRE(s.consume_n(6).exit_code == 0);
  const auto refused = s.checkpoint("set", {"--id", ids[1]});
  CHECK(refused.exit_code == 1);
  CHECK(refused.err == "streamckpt: error: refusing to move the checkpoint backwards from " + ids[5] + " to " + ids[1] +
                           ": entries in between would be handled again; pass --force to do it anyway\n");
  const auto malformed = s.checkpoint("set", {"--id", "1-"});
  CHECK(malformed.exit_code == 2);
  CHECK(contains(malformed.err, "--id '1-' is not a stream ID"));

  const auto forced = s.checkpoint("set", {"--id", ids[1], "--force"});
  REQUIRE_MESSAGE(forced.exit_code == 0, forced.err);
  CHECK(forced.out == "checkpoint set to " + ids[1] + " (epoch 1) in both copies\n");
  CHECK(s.hash_field("id") == ids[1]);
  const auto listed = run_cli({"checkpoint", "list", "--data-dir", s.data_dir().string(), "--json"});
  CHECK(listed.out == R"([{"stream":"orders","group":"billing","consumer":"edge-7","id":")" + ids[1] +
                          R"(","valid":true,"reason":null}])" + "\n");

  const auto r = s.consume_rest();  // handles 3..10 again: that is what --force asked for
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(handled_numbers(r.out) == Scenario::range(3, 10));

  const auto reset = s.checkpoint("reset");
  REQUIRE_MESSAGE(reset.exit_code == 0, reset.err);
  CHECK(s.hash_field("id").empty());
  CHECK(s.checkpoint("show", {"--json"}).out == "{\"local\":null,\"redis\":null,\"effective\":null}\n");
}

TEST_CASE("checkpoint set to an ID between entries names the entry below it, and the next start resumes from it") {
  Scenario s;
  s.redis().run({"XADD", "orders", "100-0", "n", "1"});
  s.redis().run({"XADD", "orders", "200-0", "n", "2"});
  s.redis().run({"XADD", "orders", "300-0", "n", "3"});
  const auto set = s.checkpoint("set", {"--id", "250-7"});
  REQUIRE_MESSAGE(set.exit_code == 0, set.err);
  CHECK(set.out ==
        "--id 250-7 lies between entries: setting the entry at or below it, 200-0\n"
        "checkpoint set to 200-0 (epoch 0) in both copies\n");
  CHECK(s.hash_field("id") == "200-0");
  const auto r = s.consume_rest();
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK_FALSE(contains(r.err, "REGRESSED"));
  CHECK(contains(r.err, "resume after 200-0 (source: local)"));
  CHECK(handled_numbers(r.out) == std::vector<int>{3});
}

TEST_CASE("checkpoint set checks the stream first: beyond its last entry, missing, or not a stream, nothing changes") {
  for (const bool group : {true, false}) {
    Scenario s(group);
    CAPTURE(group);
    const auto ids = s.produce(10);
    REQUIRE(s.consume_n(6).exit_code == 0);
    const auto unchanged = [&] {
      CHECK(s.hash_field("id") == ids[5]);
      CHECK(contains(s.checkpoint("show").out, "local:     " + ids[5] + " (valid, epoch 0)\n"));
    };

    const auto beyond = s.checkpoint("set", {"--id", "99999999999999-0"});
    CHECK(beyond.exit_code == 1);
    CHECK(beyond.err ==
          "streamckpt: error: --id 99999999999999-0 is beyond the last-generated-id of stream 'orders' (" + ids[9] +
              "): entries added later up to it would be skipped; nothing was changed\n");
    unchanged();
    // Refused before the store is opened: a mistyped --data-dir gets no store.
    const auto typo = (s.dir().path() / "cktp").string();
    auto typo_args = std::vector<std::string>{"checkpoint", "set", "--id", "99999999999999-0"};
    for (const auto& a : s.identity_args()) typo_args.push_back(a == s.data_dir().string() ? typo : a);
    CHECK(run_cli(typo_args).exit_code == 1);
    CHECK(!std::filesystem::exists(typo));
    // At the last entry ID it is allowed.
    const auto at_end = s.checkpoint("set", {"--id", ids[9]});
    CHECK_MESSAGE(at_end.exit_code == 0, at_end.err);
    CHECK(s.hash_field("id") == ids[9]);
    REQUIRE(s.checkpoint("set", {"--id", ids[5], "--force"}).exit_code == 0);

    s.redis().run({"RENAME", "orders", "orders-elsewhere"});
    const auto missing = s.checkpoint("set", {"--id", ids[7]});
    CHECK(missing.exit_code == 1);
    CHECK(missing.err == "streamckpt: error: stream 'orders' does not exist; nothing was changed\n");
    CHECK(s.hash_field("id") == ids[5]);

    s.redis().run({"SET", "orders", "not a stream"});
    const auto wrong = s.checkpoint("set", {"--id", ids[7]});
    CHECK(wrong.exit_code == 1);
    CHECK(wrong.err ==
          "streamckpt: error: key 'orders' holds a string, not a stream (WRONGTYPE); nothing was changed\n");
    CHECK(s.hash_field("id") == ids[5]);
  }
}

TEST_CASE("checkpoint reset refuses a --data-dir without a store; --force deletes the Redis copy alone") {
  Scenario s;
  const auto ids = s.produce(5);
  REQUIRE(s.consume_rest().exit_code == 0);
  REQUIRE(s.hash_field("id") == ids[4]);
  const auto typo = (s.dir().path() / "cktp").string();
  std::vector<std::string> args = {"checkpoint", "reset",   "--redis",    s.server().url(), "--stream",   "orders",
                                   "--group",    "billing", "--consumer", "edge-7",         "--data-dir", typo};
  const auto refused = run_cli(args);
  CHECK(refused.exit_code == 1);
  CHECK(refused.err == "streamckpt: error: no checkpoint store in " + typo +
                           "; nothing was deleted. Check --data-dir, or pass --force to delete the Redis copy alone\n");
  CHECK(s.hash_field("id") == ids[4]);
  CHECK(!std::filesystem::exists(typo));

  args.push_back("--force");
  const auto forced = run_cli(args);
  REQUIRE_MESSAGE(forced.exit_code == 0, forced.err);
  CHECK(forced.out ==
        "checkpoint of stream 'orders', group 'billing', consumer 'edge-7' deleted from the Redis copy "
        "(no store in " +
            typo +
            ")\n"
            "group 'billing' keeps its position: the next start reads after " +
            ids[4] +
            ", whatever --start says, and a file sink's file starts empty; to read the entries before it again, "
            "move the group back with 'XGROUP SETID orders billing 0' (which hands its other consumers' entries "
            "out again too)\n");
  CHECK(s.hash_field("id").empty());
  CHECK(!std::filesystem::exists(typo));
  // The real store was not touched.
  CHECK(contains(s.checkpoint("show").out, "local:     " + ids[4] + " (valid, epoch 0)\n"));
}

TEST_CASE("the Redis copy trails while running and is flushed by a clean stop") {
  Scenario s;
  const auto ids = s.produce(200);
  std::vector<std::string> args = {"consume"};
  const auto id = s.identity_args();
  args.insert(args.end(), id.begin(), id.end());
  args.insert(args.end(), {"--flush-ms", "600000"});  // no timed flush during the test
  CliProcess p(args, s.dir().path());
  for (int i = 0; i < 500; ++i) {
    const auto shown = s.checkpoint("show", {"--json"});
    if (contains(shown.out, R"("local":{"id":")" + ids[199] + "\"")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(s.hash_field("id") != ids[199]);  // 200 events < 1000: not flushed yet
  p.signal(SIGTERM);
  CHECK(p.wait().exit_code == 0);
  CHECK(s.hash_field("id") == ids[199]);
}
