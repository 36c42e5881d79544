// A failover to a replica that lagged: a real replica of a real primary is
// promoted while the primary holds entries it never received, and the
// consumer, which had handled some of those, is pointed at it. Once new
// entries pass the consumer's checkpoint, the stream's end no longer shows
// that it went backwards: the entry count and the missing entry do.
#include "cli.hpp"
#include "redis_server.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <thread>

using namespace streamckpt::test;

namespace {

std::vector<std::string> args_for(const RedisServer& redis, const TempDir& dir, std::vector<std::string> extra) {
  std::vector<std::string> a = {"consume",
                                "--redis",
                                redis.url(),
                                "--stream",
                                "orders",
                                "--group",
                                "billing",
                                "--consumer",
                                "edge-7",
                                "--data-dir",
                                (dir.path() / "ckpt").string(),
                                "--metrics"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

// The replica has everything the primary has. WAIT covers the calling
// client's writes only: one write of its own after the consumer's, which the
// replication stream carries in order, makes it cover those too.
void wait_replicated(Client& primary) {
  primary.run({"INCR", "test:replication-marker"});
  const auto r = primary.run({"WAIT", "1", "10000"});
  REQUIRE(r->type == REDIS_REPLY_INTEGER);
  REQUIRE(r->integer == 1);
}

// Entries 1 to 1000 on both; the consumer handles them; the replica is
// promoted (REPLICAOF NO ONE) with them alone; entries 1001 to 2000 go to the
// old primary, and the consumer handles 1001 to 1500 there. Then `fresh` new
// entries reach the new primary, numbered from 2001.
struct Failover {
  RedisServer primary;
  RedisServer replica{{"--replicaof", "127.0.0.1", std::to_string(primary.port())}};
  TempDir dir;
  std::set<int> handled;

  void run(int fresh) {
    Client p(primary.port());
    Client r(replica.port());
    REQUIRE(eventually_linked(r));
    p.produce("orders", 1, 1000);
    consume_on(primary, {"--max-events", "1000"});
    wait_replicated(p);  // the Redis copy at entry 1000 too
    REQUIRE(r.run({"REPLICAOF", "NO", "ONE"})->type == REDIS_REPLY_STATUS);
    p.produce("orders", 1001, 1000);
    consume_on(primary, {"--max-events", "500"});
    // New IDs on the new primary are later than any on the old one.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    r.produce("orders", 2001, fresh);
  }

  void consume_on(RedisServer& redis, std::vector<std::string> extra) {
    const auto r = run_cli(args_for(redis, dir, std::move(extra)));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    for (const int n : handled_numbers(r.out)) handled.insert(n);
  }

  static bool eventually_linked(Client& replica) {
    for (int i = 0; i < 500; ++i) {
      const auto info = replica.run({"INFO", "replication"});
      if (std::string(info->str, info->len).find("master_link_status:up") != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
};

bool has_all(const std::set<int>& handled, int first, int last) {
  for (int n = first; n <= last; ++n)
    if (!handled.count(n)) return false;
  return true;
}

}  // namespace

TEST_CASE("a replica promoted while it lagged, then passed the checkpoint: REGRESSED with the count of entries gone") {
  Failover f;
  f.run(300);  // the new primary has had 1300 entries; the checkpoint had seen 1500
  const auto r = run_cli(args_for(f.replica, f.dir, {"--idle-exit-ms", "300"}));
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  for (const int n : handled_numbers(r.out)) f.handled.insert(n);
  CHECK_MESSAGE(contains(r.err,
                         "; REGRESSED: the stream went backwards, at least 200 entries a checkpoint had seen "
                         "are gone"),
                r.err);
  CHECK(contains(r.err, "local copy: invalid (checkpoint "));
  CHECK(contains(r.err,
                 " had seen 1500 entries of the stream, which has had 1300 added (the stream went backwards: at "
                 "least 200 entries are gone)"));
  // The Redis copy the replica had (entry 1000) is valid and wins: what the
  // new primary holds is handled, nothing of it lost.
  CHECK(contains(r.err, "(source: redis)"));
  CHECK(contains(r.err, R"("regressions":1)"));
  CHECK(has_all(f.handled, 1, 1500));
  CHECK(has_all(f.handled, 2001, 2300));
  CHECK(handled_numbers(r.out).front() == 2001);
}

TEST_CASE("a replica promoted while it lagged, then passed the checkpoint's count too: the missing entry shows it") {
  Failover f;
  f.run(700);  // 1700 added: more than the 1500 the checkpoint had seen
  const auto r = run_cli(args_for(f.replica, f.dir, {"--idle-exit-ms", "300"}));
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  for (const int n : handled_numbers(r.out)) f.handled.insert(n);
  CHECK_MESSAGE(contains(r.err, "; REGRESSED: the stream went backwards behind a checkpoint"), r.err);
  CHECK(contains(r.err, " names an entry the stream does not have and never deleted (the stream went backwards)"));
  CHECK(contains(r.err, R"("regressions":1)"));
  CHECK(has_all(f.handled, 1, 1500));
  CHECK(has_all(f.handled, 2001, 2700));
}

TEST_CASE("--on-regressed fail after a failover to a lagging replica: exit 1, and neither copy changes") {
  Failover f;
  f.run(300);
  Client r(f.replica.port());
  const auto hash_before = r.run({"HGETALL", "streamckpt:{orders}:billing:edge-7"});
  const auto before = run_cli({"checkpoint", "show", "--data-dir", (f.dir.path() / "ckpt").string(), "--stream",
                               "orders", "--group", "billing", "--consumer", "edge-7"});
  const auto result = run_cli(args_for(f.replica, f.dir, {"--idle-exit-ms", "300", "--on-regressed", "fail"}));
  CHECK(result.exit_code == 1);
  CHECK_MESSAGE(contains(result.err, "streamckpt: error: the local copy is not valid: checkpoint "), result.err);
  CHECK(contains(result.err, " and --on-regressed is fail; nothing was changed\n"));
  CHECK(handled_numbers(result.out).empty());
  const auto after = run_cli({"checkpoint", "show", "--data-dir", (f.dir.path() / "ckpt").string(), "--stream",
                              "orders", "--group", "billing", "--consumer", "edge-7"});
  CHECK(after.out == before.out);
  const auto hash_after = r.run({"HGETALL", "streamckpt:{orders}:billing:edge-7"});
  REQUIRE(hash_after->elements == hash_before->elements);
  for (std::size_t i = 0; i < hash_after->elements; ++i)
    CHECK(std::string(hash_after->element[i]->str) == std::string(hash_before->element[i]->str));
}
