// A consumer group across members: entries a member read and never handled
// are claimed by another (XAUTOCLAIM), and must be handled there, never
// XACKed unhandled because they lie below the claimer's own checkpoint.
#include "cli.hpp"
#include "redis_server.hpp"

#include <doctest/doctest.h>

#include <map>

using namespace streamckpt::test;

namespace {

std::vector<std::string> member_args(const RedisServer& redis, const TempDir& dir, const std::string& name,
                                     std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"consume",
                                "--redis",
                                redis.url(),
                                "--stream",
                                "orders",
                                "--group",
                                "billing",
                                "--consumer",
                                name,
                                "--data-dir",
                                (dir.path() / name).string()};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

long long pending_of(Client& c, const std::string& consumer) {
  const auto r = c.run({"XPENDING", "orders", "billing", "-", "+", "1000", consumer});
  return static_cast<long long>(r->elements);
}

}  // namespace

TEST_CASE("entries claimed from another member lie below the claimer's checkpoint: they are handed out, not XACKed") {
  RedisServer redis;
  Client c(redis.port());
  TempDir dir;
  c.produce("orders", 1, 30);
  REQUIRE(c.run({"XGROUP", "CREATE", "orders", "billing", "0"})->type == REDIS_REPLY_STATUS);
  // Member "gone" reads entries 1 to 10 and dies before handling them.
  const auto taken = c.run({"XREADGROUP", "GROUP", "billing", "gone", "COUNT", "10", "STREAMS", "orders", ">"});
  REQUIRE(taken->elements == 1);
  // edge-7 handles 11 to 30: its checkpoint passes the entries "gone" holds.
  const auto first = run_cli(member_args(redis, dir, "edge-7", {"--idle-exit-ms", "300"}));
  REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  REQUIRE(handled_numbers(first.out) ==
          std::vector<int>{11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30});
  // Someone hands "gone"'s entries to edge-7.
  c.run({"XAUTOCLAIM", "orders", "billing", "edge-7", "0", "0-0", "COUNT", "100"});
  REQUIRE(pending_of(c, "edge-7") == 10);
  c.produce("orders", 31, 5);

  const auto second = run_cli(member_args(redis, dir, "edge-7", {"--idle-exit-ms", "300"}));
  REQUIRE_MESSAGE(second.exit_code == 0, second.err);
  CHECK(handled_numbers(second.out) == std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 31, 32, 33, 34, 35});
  CHECK(pending_of(c, "edge-7") == 0);

  // And nothing more at the next start: each was handled once.
  const auto third = run_cli(member_args(redis, dir, "edge-7", {"--idle-exit-ms", "300"}));
  REQUIRE_MESSAGE(third.exit_code == 0, third.err);
  CHECK(handled_numbers(third.out).empty());
}

TEST_CASE("an entry handled and durable whose XACK was lost is XACKed at the next start, not handed out again") {
  RedisServer redis;
  Client c(redis.port());
  TempDir dir;
  // A user that may not XACK: every entry stays pending after it is handled.
  c.run({"ACL", "SETUSER", "noxack", "on", ">pw", "~*", "&*", "+@all", "-xack"});
  c.produce("orders", 1, 20);
  const auto url = "redis://noxack:pw@127.0.0.1:" + std::to_string(redis.port());
  std::vector<std::string> args = {"consume",
                                   "--redis",
                                   url,
                                   "--stream",
                                   "orders",
                                   "--group",
                                   "billing",
                                   "--consumer",
                                   "edge-7",
                                   "--data-dir",
                                   (dir.path() / "edge-7").string(),
                                   "--idle-exit-ms",
                                   "300"};
  const auto first = run_cli(args);
  REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  CHECK(handled_numbers(first.out).size() == 20);
  REQUIRE(pending_of(c, "edge-7") == 20);
  c.produce("orders", 21, 3);
  auto with_xack = member_args(redis, dir, "edge-7", {"--idle-exit-ms", "300"});
  const auto second = run_cli(with_xack);
  REQUIRE_MESSAGE(second.exit_code == 0, second.err);
  CHECK(handled_numbers(second.out) == std::vector<int>{21, 22, 23});
  CHECK(pending_of(c, "edge-7") == 0);
}
