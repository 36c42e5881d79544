// Redis loses data while the consumer runs: a restart without persistence,
// FLUSHALL, the stream deleted. Each is reported, and the consumer goes on as
// --on-regressed says, losing nothing that was produced afterwards.
//
// And Redis restarts with its data, answering LOADING for seconds while it
// loads them: the consumer waits, at start-up and while running.
#include "cli.hpp"
#include "redis_server.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <functional>
#include <thread>

using namespace streamckpt::test;

namespace {

// Waits (generously) until `done` holds.
bool eventually(const std::function<bool()>& done, int seconds = 30) {
  for (int i = 0; i < seconds * 50; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

std::vector<std::string> args_for(const RedisServer& redis, const TempDir& dir, bool group,
                                  std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"consume",    "--redis",    redis.url(),
                                "--stream",   "orders",     "--consumer",
                                "edge-7",     "--data-dir", (dir.path() / "ckpt").string(),
                                "--block-ms", "200"};
  if (group) a.insert(a.end(), {"--group", "billing"});
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

std::size_t handled_count(const CliProcess& p) { return handled_numbers(p.out()).size(); }

// Entries with explicit IDs below anything produced before: a stream that
// went backwards.
void produce_low(Client& c, int first, int count) {
  for (int i = 0; i < count; ++i)
    c.run({"XADD", "orders", "1-" + std::to_string(i + 1), "n", std::to_string(first + i)});
}

std::vector<int> one_to(int n) {
  std::vector<int> v;
  for (int i = 1; i <= n; ++i) v.push_back(i);
  return v;
}

// A redis-server that loads its data slowly after a restart: 100 µs per key,
// answering clients (with LOADING) after every KiB it loads.
std::vector<std::string> slow_loading(std::vector<std::string> more = {}) {
  std::vector<std::string> a = {"--key-load-delay", "100", "--loading-process-events-interval-bytes", "1024"};
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

bool answers_loading(int port, const std::string& password) {
  Client c(port, password);  // AUTH is allowed while loading
  const auto r = c.run({"PING"});
  return r->type == REDIS_REPLY_ERROR && std::string(r->str).rfind("LOADING ", 0) == 0;
}

// Adds 20,000 keys beside the stream (seconds of loading), saves, restarts,
// and REQUIREs that Redis is still loading when it returns.
void restart_with_data(RedisServer& redis, const std::string& password = {}) {
  {
    Client c(redis.port(), password);
    c.run({"EVAL", "for i = 1, 20000 do redis.call('SET', 'filler:' .. i, 'x') end", "0"});
    REQUIRE(c.run({"SAVE"})->type == REDIS_REPLY_STATUS);
  }
  redis.restart();
  REQUIRE_MESSAGE(answers_loading(redis.port(), password), "Redis finished loading before the test could use it");
}

}  // namespace

TEST_CASE("Redis still loading its data at start-up: the consumer waits for it, then handles every entry once") {
  for (const bool group : {true, false}) {
    CAPTURE(group);
    RedisServer redis(slow_loading());
    TempDir dir;
    const auto ids = Client(redis.port()).produce("orders", 1, 30);
    restart_with_data(redis);
    CliProcess p(args_for(redis, dir, group), dir.path());
    const bool all = eventually([&] { return handled_count(p) == 30; });
    p.signal(SIGTERM);
    const auto r = p.wait();
    INFO("stderr: ", r.err);
    REQUIRE(all);
    CHECK(r.exit_code == 0);
    CHECK(contains(r.err, "streamckpt: " + redis.url() +
                              " is not ready: LOADING Redis is loading the dataset in memory; retrying in "));
    CHECK(handled_numbers(r.out) == one_to(30));
    const std::string hash = std::string("streamckpt:{orders}:") + (group ? "billing" : "") + ":edge-7";
    CHECK(Client(redis.port()).run({"HGET", hash, "id"})->str == ids.back());
  }
}

TEST_CASE("Redis loading at start-up, seen through an ACL user that may not PING: each retry names the reason") {
  RedisServer redis(slow_loading({"--user", "app", "on", ">pw", "~*", "&*", "+@all", "-ping"}));
  TempDir dir;
  Client(redis.port()).produce("orders", 1, 30);
  restart_with_data(redis);
  auto args = args_for(redis, dir, true);
  args[2] = "redis://app:pw@127.0.0.1:" + std::to_string(redis.port());
  CliProcess p(args, dir.path());
  const bool all = eventually([&] { return handled_count(p) == 30; });
  p.signal(SIGTERM);
  const auto r = p.wait();
  INFO("stderr: ", r.err);
  REQUIRE(all);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.err, "streamckpt: start-up interrupted (redis://app:***@127.0.0.1:" + std::to_string(redis.port()) +
                            " is not ready: LOADING Redis is loading the dataset in memory); retrying in "));
  CHECK(handled_numbers(r.out) == one_to(30));
}

TEST_CASE("Redis restarted with its data while running, behind a password: the consumer waits while it loads") {
  for (const bool group : {true, false}) {
    CAPTURE(group);
    RedisServer redis(slow_loading({"--requirepass", "s3cret"}));
    TempDir dir;
    auto args = args_for(redis, dir, group);
    args[2] = "redis://:s3cret@127.0.0.1:" + std::to_string(redis.port());
    CliProcess p(args, dir.path());
    Client(redis.port(), "s3cret").produce("orders", 1, 30);
    REQUIRE(eventually([&] { return handled_count(p) == 30; }));
    // AUTH succeeds while Redis loads; every other command answers LOADING.
    restart_with_data(redis, "s3cret");
    REQUIRE(eventually([&] { return !answers_loading(redis.port(), "s3cret"); }));
    Client(redis.port(), "s3cret").produce("orders", 31, 20);
    const bool all = eventually([&] { return handled_count(p) == 50; });
    p.signal(SIGTERM);
    const auto r = p.wait();
    INFO("stderr: ", r.err);
    REQUIRE(all);
    CHECK(r.exit_code == 0);
    CHECK(contains(r.err, " is not ready: LOADING Redis is loading the dataset in memory; retrying in "));
    CHECK(!contains(r.err, "s3cret"));
    CHECK(handled_numbers(r.out) == one_to(50));
  }
}

TEST_CASE(
    "Redis restarted without persistence: the consumer reconnects, recreates its group, and handles what comes next") {
  RedisServer redis;
  TempDir dir;
  CliProcess p(args_for(redis, dir, true), dir.path());
  {
    Client c(redis.port());
    c.produce("orders", 1, 50);
  }
  REQUIRE(eventually([&] { return handled_count(p) == 50; }));
  redis.restart();
  Client c(redis.port());
  const auto ids = c.produce("orders", 51, 50);  // new IDs, above the checkpoint
  REQUIRE(eventually([&] { return handled_count(p) == 100; }));
  // The write-through goes on although the restart also lost the lease.
  REQUIRE(eventually([&] {
    auto r = c.run({"HGET", "streamckpt:{orders}:billing:edge-7", "id"});
    return r->type == REDIS_REPLY_STRING && r->str == ids.back();
  }));
  CHECK(c.run({"EXISTS", "streamckpt:{orders}:billing:edge-7:lease"})->integer == 1);
  p.signal(SIGTERM);
  const auto r = p.wait();
  CHECK(r.exit_code == 0);
  CHECK(contains(r.err, "reconnected; replaying the pending list"));  // group mode
  // Reported either way: the group is gone, or (if the reconnect saw the
  // stream before the new entries arrived) the stream went backwards.
  CHECK((contains(r.err, "group 'billing' is gone") || contains(r.err, "went backwards while running")));
  std::vector<int> expected;
  for (int i = 1; i <= 100; ++i) expected.push_back(i);
  CHECK(handled_numbers(r.out) == expected);
}

TEST_CASE(
    "Redis restarted empty and refilled below the checkpoint: reported as regressed, resumed from the first entry") {
  for (const bool group : {true, false}) {
    CAPTURE(group);
    RedisServer redis;
    TempDir dir;
    CliProcess p(args_for(redis, dir, group), dir.path());
    {
      Client c(redis.port());
      c.produce("orders", 1, 20);
    }
    REQUIRE(eventually([&] { return handled_count(p) == 20; }));
    redis.restart();
    Client c(redis.port());
    produce_low(c, 1001, 5);  // IDs 1-1 … 1-5: the stream went backwards
    REQUIRE(eventually([&] { return handled_count(p) == 25; }));
    p.signal(SIGTERM);
    const auto r = p.wait();
    CHECK(r.exit_code == 0);
    CHECK(contains(r.err, "stream 'orders' went backwards while running"));
    CHECK(contains(r.err, "restarting to apply --on-regressed"));
    CHECK(contains(r.err, "REGRESSED"));
    const auto handled = handled_numbers(r.out);
    CHECK(std::vector<int>(handled.begin() + 20, handled.end()) == std::vector<int>{1001, 1002, 1003, 1004, 1005});
  }
}

TEST_CASE("FLUSHALL mid-run is detected while idle and reported; --on-regressed fail stops with exit 1") {
  RedisServer redis;
  TempDir dir;
  CliProcess p(args_for(redis, dir, false, {"--on-regressed", "fail"}), dir.path());
  Client c(redis.port());
  c.produce("orders", 1, 10);
  REQUIRE(eventually([&] { return handled_count(p) == 10; }));
  c.run({"FLUSHALL"});
  const auto r = p.wait();  // the idle check finds the stream gone
  CHECK(r.exit_code == 1);
  CHECK(contains(
      r.err, "streamckpt: error: stream 'orders' went backwards while running: it is gone (last-generated-id 0-0)"));
}

TEST_CASE("the stream deleted mid-run in group mode: reported, the group is recreated, new entries are handled") {
  RedisServer redis;
  TempDir dir;
  CliProcess p(args_for(redis, dir, true), dir.path());
  Client c(redis.port());
  c.produce("orders", 1, 10);
  REQUIRE(eventually([&] { return handled_count(p) == 10; }));
  c.run({"DEL", "orders"});
  REQUIRE(eventually([&] { return contains(p.err(), "went backwards while running"); }));
  REQUIRE(eventually([&] { return contains(p.err(), "group created"); }));
  produce_low(c, 2001, 3);
  REQUIRE(eventually([&] { return handled_count(p) == 13; }));
  p.signal(SIGTERM);
  const auto r = p.wait();
  CHECK(r.exit_code == 0);
  const auto handled = handled_numbers(r.out);
  CHECK(std::vector<int>(handled.begin() + 10, handled.end()) == std::vector<int>{2001, 2002, 2003});
}

TEST_CASE("file sink: after Redis restarted empty and refilled, the file keeps its lines and the new ones follow") {
  for (const bool group : {true, false}) {
    CAPTURE(group);
    RedisServer redis;
    TempDir dir;
    const auto file = dir.path() / "out.jsonl";
    CliProcess p(args_for(redis, dir, group, {"--sink", "file:" + file.string()}), dir.path());
    {
      Client c(redis.port());
      c.produce("orders", 1, 20);
    }
    REQUIRE(eventually([&] { return handled_numbers(read_file(file)).size() == 20; }));
    redis.restart();
    Client c(redis.port());
    produce_low(c, 1001, 5);
    const bool all = eventually([&] { return handled_numbers(read_file(file)).size() == 25; });
    p.signal(SIGTERM);
    const auto r = p.wait();
    INFO("stderr: ", r.err);
    CHECK(all);
    CHECK(r.exit_code == 0);
    CHECK(contains(r.err, "restarting to apply --on-regressed"));
    std::vector<int> expected;
    for (int i = 1; i <= 20; ++i) expected.push_back(i);
    for (int i = 1001; i <= 1005; ++i) expected.push_back(i);
    CHECK(handled_numbers(read_file(file)) == expected);
  }
}

// A file sink that handled entries 1 to 10 (its Redis copy records entry 5),
// then Redis restarted from a snapshot taken when the stream ended at entry
// `snapshot_at`: the entries after it are gone.
struct SnapshotRestore {
  std::filesystem::path file;
  std::vector<std::string> args;
};

SnapshotRestore handle_ten_then_restore(RedisServer& redis, const TempDir& dir, bool group, int snapshot_at) {
  SnapshotRestore s{dir.path() / "out.jsonl", {}};
  s.args = args_for(redis, dir, group, {"--sink", "file:" + s.file.string(), "--idle-exit-ms", "300"});
  {
    Client c(redis.port());
    c.produce("orders", 1, 5);
    REQUIRE(run_cli(s.args).exit_code == 0);  // the Redis copy records entry 5
    c.produce("orders", 6, snapshot_at - 5);
    REQUIRE(c.run({"SAVE"})->type == REDIS_REPLY_STATUS);
    c.produce("orders", snapshot_at + 1, 10 - snapshot_at);
  }
  const auto second = run_cli(s.args);
  REQUIRE_MESSAGE(second.exit_code == 0, second.err);
  REQUIRE(handled_numbers(read_file(s.file)) == one_to(10));
  redis.restart();
  return s;
}

TEST_CASE("file sink: Redis restarted from an older snapshot; the lower Redis copy wins, the file keeps every line") {
  for (const bool group : {true, false}) {
    CAPTURE(group);
    RedisServer redis;
    TempDir dir;
    // Entries 8 to 10 are gone, the Redis copy is at 5, the local one at 10 is
    // beyond the stream's end.
    const auto s = handle_ten_then_restore(redis, dir, group, 7);
    const auto r = run_cli(s.args);
    INFO("stderr: ", r.err);
    CHECK(r.exit_code == 0);
    CHECK(contains(r.err, "REGRESSED"));
    // Entries 6 and 7 come again; the lines of 8 to 10, whose entries are
    // gone, stay.
    auto expected = one_to(10);
    expected.insert(expected.end(), {6, 7});
    CHECK(handled_numbers(read_file(s.file)) == expected);
  }
}

TEST_CASE("file sink: after a snapshot restore, the file keeps its lines across later starts with nothing new") {
  for (const bool group : {true, false}) {
    CAPTURE(group);
    RedisServer redis;
    TempDir dir;
    const auto s = handle_ten_then_restore(redis, dir, group, 5);
    const auto ten = read_file(s.file);
    // Entries 6 to 10 are gone; the Redis copy at 5 wins. Twice, with nothing
    // new: the copies it re-seeded must not cut the file at the next start.
    for (int run = 0; run < 2; ++run) {
      const auto r = run_cli(s.args);
      INFO("run ", run, ", stderr: ", r.err);
      CHECK(r.exit_code == 0);
      CHECK(read_file(s.file) == ten);
    }
    Client(redis.port()).produce("orders", 11, 2);
    const auto last = run_cli(s.args);
    REQUIRE_MESSAGE(last.exit_code == 0, last.err);
    CHECK(handled_numbers(read_file(s.file)) == one_to(12));
  }
}
