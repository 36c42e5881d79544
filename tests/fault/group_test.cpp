// A consumer group across members: entries a member read and never handled
// are claimed by another (XAUTOCLAIM), and must be handled there, never
// XACKed unhandled because they lie below the claimer's own checkpoint.
#include "cli.hpp"
#include "fault_run.hpp"
#include "ledger.hpp"
#include "redis_server.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <thread>

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

namespace {

std::set<int> numbers_in(const std::string& out) {
  const auto v = handled_numbers(out);
  return {v.begin(), v.end()};
}

long long group_pending(Client& c) {
  const auto r = c.run({"XPENDING", "orders", "billing"});
  return r->element[0]->integer;
}

}  // namespace

TEST_CASE("three members, one killed for good mid-run: the survivors handle every entry it left, none is lost") {
  RedisServer redis;
  Client c(redis.port());
  TempDir dir;
  const std::vector<std::string> fast = {"--claim-idle-ms", "1500", "--block-ms", "100", "--batch", "20", "--metrics"};
  std::vector<std::unique_ptr<CliProcess>> members;
  for (const auto* name : {"m1", "m2", "m3"})
    members.push_back(std::make_unique<CliProcess>(member_args(redis, dir, name, fast), dir.path()));
  // Every member is registered (it read once) before the entries come.
  REQUIRE(eventually([&] { return c.run({"XINFO", "CONSUMERS", "orders", "billing"})->elements == 3; }));
  // m3 dies holding entries it read and never handled: stopped while its
  // blocking read waits, it is still served by Redis.
  int total = 0;
  for (int attempt = 0; attempt < 50 && pending_of(c, "m3") == 0; ++attempt) {
    members[2]->signal(SIGCONT);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    members[2]->signal(SIGSTOP);
    c.produce("orders", total + 1, 300);
    total += 300;
    eventually([&] { return pending_of(c, "m3") > 0; }, std::chrono::seconds(1));
  }
  REQUIRE(pending_of(c, "m3") > 0);
  members[2]->kill();  // its host is gone: it never comes back
  const auto by_dead = numbers_in(members[2]->out());
  c.produce("orders", total + 1, 2000);
  total += 2000;

  // Every entry is handled, nothing stays pending, and the dead member,
  // idle with nothing pending, leaves the group.
  const auto all_handled = [&] {
    auto seen = by_dead;
    for (int i = 0; i < 2; ++i)
      for (const int n : numbers_in(members[i]->out())) seen.insert(n);
    return seen.size() == static_cast<std::size_t>(total) && group_pending(c) == 0;
  };
  REQUIRE_MESSAGE(eventually(all_handled), "m1: ", members[0]->err(), "\nm2: ", members[1]->err());
  // The dead member, with nothing pending any more, leaves the group.
  // (Redis 7.0 counts a member idle since its last delivery: a live one may
  // go too, with nothing pending, and comes back with its next entries.)
  const auto has_member = [&](const std::string& name) {
    const auto r = c.run({"XINFO", "CONSUMERS", "orders", "billing"});
    for (std::size_t i = 0; i < r->elements; ++i)
      if (name == r->element[i]->element[1]->str) return true;
    return false;
  };
  CHECK(eventually([&] { return !has_member("m3"); }));
  std::string survivors_err;
  std::vector<int> survivors;
  for (int i = 0; i < 2; ++i) {
    members[i]->signal(SIGTERM);
    const auto r = members[i]->wait();
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    survivors_err += r.err;
    const auto got = handled_numbers(r.out);
    survivors.insert(survivors.end(), got.begin(), got.end());
  }
  CHECK(contains(survivors_err, "claimed "));
  // A survivor handles an entry at most once; the dead member's handled
  // entries may come again only where its death cut its acks short.
  std::set<int> once(survivors.begin(), survivors.end());
  CHECK(once.size() == survivors.size());
  std::size_t again = 0;
  for (const int n : by_dead) again += once.count(n);
  CHECK(again <= 60);  // at most what it had in flight: the batch in hand and two read ahead
  std::vector<int> lost;
  for (int n = 1; n <= total; ++n)
    if (!once.count(n) && !by_dead.count(n)) lost.push_back(n);
  CHECK(lost.empty());
  CHECK(contains(survivors_err, "members of group 'billing' idle for over 1500 ms with nothing pending"));
}

TEST_CASE("two members claiming a dead member's entries at once: each entry is handled by one of them") {
  RedisServer redis;
  Client c(redis.port());
  TempDir dir;
  c.produce("orders", 1, 200);
  REQUIRE(c.run({"XGROUP", "CREATE", "orders", "billing", "0"})->type == REDIS_REPLY_STATUS);
  // "gone" reads 150 entries and dies.
  c.run({"XREADGROUP", "GROUP", "billing", "gone", "COUNT", "150", "STREAMS", "orders", ">"});
  const std::vector<std::string> fast = {"--claim-idle-ms", "300", "--block-ms",     "50",
                                         "--batch",         "10",  "--idle-exit-ms", "2000"};
  CliProcess a(member_args(redis, dir, "a", fast), dir.path());
  CliProcess b(member_args(redis, dir, "b", fast), dir.path());
  const auto ra = a.wait();
  const auto rb = b.wait();
  REQUIRE_MESSAGE(ra.exit_code == 0, ra.err);
  REQUIRE_MESSAGE(rb.exit_code == 0, rb.err);
  const auto ha = handled_numbers(ra.out);
  const auto hb = handled_numbers(rb.out);
  std::set<int> union_of(ha.begin(), ha.end());
  union_of.insert(hb.begin(), hb.end());
  CHECK(union_of.size() == ha.size() + hb.size());  // no entry handled by both
  CHECK(union_of.size() == 200);
  CHECK(group_pending(c) == 0);
  // The dead member, idle with nothing pending, was removed (and so may the
  // member that stopped first be, by the other: it has nothing pending).
  const auto consumers = c.run({"XINFO", "CONSUMERS", "orders", "billing"});
  std::set<std::string> names;
  for (std::size_t i = 0; i < consumers->elements; ++i) names.insert(consumers->element[i]->element[1]->str);
  CHECK_FALSE(names.count("gone"));
  CHECK((contains(ra.err, "members of group 'billing' idle for over 300 ms") ||
         contains(rb.err, "members of group 'billing' idle for over 300 ms")));
}

TEST_CASE("a dead member's entries that it recorded as handled are only XACKed by the claimer, never handled again") {
  RedisServer redis;
  Client c(redis.port());
  TempDir dir;
  // "gone" may not XACK: everything it handles stays pending, and its Redis
  // copy lists it as handled.
  c.run({"ACL", "SETUSER", "noxack", "on", ">pw", "~*", "&*", "+@all", "-xack"});
  c.produce("orders", 1, 50);
  std::vector<std::string> gone = {"consume",
                                   "--redis",
                                   "redis://noxack:pw@127.0.0.1:" + std::to_string(redis.port()),
                                   "--stream",
                                   "orders",
                                   "--group",
                                   "billing",
                                   "--consumer",
                                   "gone",
                                   "--data-dir",
                                   (dir.path() / "gone").string(),
                                   "--max-events",
                                   "30",
                                   "--claim-idle-ms",
                                   "0"};
  const auto first = run_cli(gone);
  REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  REQUIRE(handled_numbers(first.out).size() == 30);
  REQUIRE(pending_of(c, "gone") == 50);  // 30 handled, 20 read ahead
  const auto r = run_cli(member_args(
      redis, dir, "edge-7", {"--claim-idle-ms", "300", "--block-ms", "50", "--idle-exit-ms", "1500", "--metrics"}));
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  std::vector<int> rest;
  for (int n = 31; n <= 50; ++n) rest.push_back(n);
  CHECK(handled_numbers(r.out) == rest);  // claimed: read ahead by "gone", never handled
  CHECK(contains(r.err, "\"claimed\":20,\"claim_xacks\":30,"));
  CHECK(group_pending(c) == 0);
}

namespace {

std::vector<int> lines_of(const std::string& out) {
  std::vector<int> numbers;
  std::size_t start = 0;
  for (auto end = out.find('\n'); end != std::string::npos; start = end + 1, end = out.find('\n', start))
    numbers.push_back(std::stoi(out.substr(start, end - start)));
  return numbers;
}

}  // namespace

TEST_CASE("a poison entry that crashes its handler is handed out --max-deliveries times, then dead-lettered") {
  RedisServer redis;
  Client c(redis.port());
  TempDir dir;
  c.produce("orders", 1, 20);
  const auto poison_id = [&] {
    const auto r = c.run({"XRANGE", "orders", "-", "+", "COUNT", "13"});
    return std::string(r->element[12]->element[0]->str);
  }();
  const auto program = program_path("POISON_CONSUMER");
  const std::vector<std::string> args = {redis.url(), (dir.path() / "ckpt").string(), "3", "13"};
  std::set<int> handled;
  int crashes = 0;
  CliResult last;
  for (int run = 0; run < 6; ++run) {
    last = run_program(program, args);
    for (const int n : lines_of(last.out)) handled.insert(n);
    if (last.exit_code != -SIGABRT) break;
    ++crashes;
  }
  REQUIRE_MESSAGE(last.exit_code == 0, last.err);
  CHECK(crashes == 3);  // handed out 3 times, each crashing
  CHECK(contains(last.err, "entry " + poison_id +
                               " was handed out 3 times without being handled: copied to "
                               "'orders:dead' as "));
  CHECK(contains(last.err, "\"dead_lettered\":1,"));
  std::set<int> expected;
  for (int n = 1; n <= 20; ++n)
    if (n != 13) expected.insert(n);
  CHECK(handled == expected);
  CHECK(group_pending(c) == 0);
  // The copy names its origin and why, and keeps the fields.
  const auto dead = c.run({"XRANGE", "orders:dead", "-", "+"});
  REQUIRE(dead->elements == 1);
  std::map<std::string, std::string> f;
  const auto* fields = dead->element[0]->element[1];
  for (std::size_t i = 0; i + 1 < fields->elements; i += 2) f[fields->element[i]->str] = fields->element[i + 1]->str;
  CHECK(f["origin-stream"] == "orders");
  CHECK(f["origin-id"] == poison_id);
  CHECK(f["origin-group"] == "billing");
  CHECK(f["reason"] == "handed out 3 times without being handled");
  CHECK(f["n"] == "13");
  // The count of deliveries is gone with it.
  CHECK(c.run({"EXISTS", "streamckpt:{orders}:billing::deliveries"})->integer == 0);
}

TEST_CASE("the group destroyed while two members run: each reports and counts it, the group is recreated, none lost") {
  RedisServer redis;
  Client c(redis.port());
  TempDir dir;
  const std::vector<std::string> fast = {"--claim-idle-ms", "0", "--block-ms", "100", "--batch", "20", "--metrics"};
  CliProcess m1(member_args(redis, dir, "m1", fast), dir.path());
  CliProcess m2(member_args(redis, dir, "m2", fast), dir.path());
  c.produce("orders", 1, 200);
  const auto handled_union = [&] {
    auto seen = numbers_in(m1.out());
    for (const int n : numbers_in(m2.out())) seen.insert(n);
    return seen;
  };
  REQUIRE(eventually([&] { return handled_union().size() == 200; }));
  REQUIRE(c.run({"XGROUP", "DESTROY", "orders", "billing"})->integer == 1);
  c.produce("orders", 201, 100);
  REQUIRE_MESSAGE(eventually([&] { return handled_union().size() == 300; }), m1.err(), m2.err());
  m1.signal(SIGTERM);
  m2.signal(SIGTERM);
  const auto r1 = m1.wait();
  const auto r2 = m2.wait();
  CHECK_MESSAGE(r1.exit_code == 0, r1.err);
  CHECK_MESSAGE(r2.exit_code == 0, r2.err);
  const auto all = r1.err + r2.err;
  CHECK(contains(all, "group 'billing' is gone (NOGROUP"));
  // Counted by each member that found it gone.
  const int lost = (contains(r1.err, "\"groups_lost\":1}") ? 1 : 0) + (contains(r2.err, "\"groups_lost\":1}") ? 1 : 0);
  CHECK(lost >= 1);
  CHECK(occurrences(all, "group 'billing' is gone") == lost);
  CHECK(group_pending(c) == 0);
}
