// Redis Sentinel, for real: a primary, a replica and a Sentinel process
// (redis-server --sentinel) on loopback, and the CLI given only the
// Sentinel's address (redis+sentinel://…/mymaster). The Sentinel fails over
// (SENTINEL FAILOVER, as it does when the primary dies); the consumer follows
// it. Once with a replica that has everything, once with one whose link to
// the primary was a black hole while the consumer handled entries it never
// received: the switch is a step backwards, found and reported, and under
// the default policy nothing is lost.
#include "fault_run.hpp"
#include "ledger.hpp"

#include <doctest/doctest.h>

#include <fmt/format.h>

#include <csignal>
#include <string>
#include <thread>

using namespace streamckpt::test;

namespace {

const std::string k_master = "mymaster";

std::string sentinel_config(int primary_port) {
  return fmt::format(
      "sentinel monitor {0} 127.0.0.1 {1} 1\n"
      "sentinel down-after-milliseconds {0} 1000\n"
      "sentinel failover-timeout {0} 10000\n",
      k_master, primary_port);
}

std::string text_of(const Reply& r) { return r && r->str ? std::string(r->str, r->len) : std::string{}; }

// The port Sentinel names for the master, or 0.
int master_port(Client& sentinel) {
  const auto r = sentinel.run({"SENTINEL", "get-master-addr-by-name", k_master});
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) return 0;
  return std::stoi(std::string(r->element[1]->str, r->element[1]->len));
}

// Whether Sentinel knows a replica at `port` that it may promote.
bool knows_replica(Client& sentinel, int port) {
  const auto r = sentinel.run({"SENTINEL", "replicas", k_master});
  if (r->type != REDIS_REPLY_ARRAY) return false;
  for (std::size_t i = 0; i < r->elements; ++i) {
    const auto* fields = r->element[i];
    std::string at_port, flags, link;
    for (std::size_t f = 0; f + 1 < fields->elements; f += 2) {
      const std::string name(fields->element[f]->str, fields->element[f]->len);
      const std::string value(fields->element[f + 1]->str, fields->element[f + 1]->len);
      if (name == "port") at_port = value;
      if (name == "flags") flags = value;
      if (name == "master-link-status") link = value;
    }
    if (at_port == std::to_string(port) && flags == "slave" && link == "ok") return true;
  }
  return false;
}

// The primary's writes so far (the consumer's Redis copy among them) are on
// the replica.
void wait_replicated(Client& primary) {
  primary.run({"INCR", "test:replication-marker"});
  const auto r = primary.run({"WAIT", "1", "10000"});
  REQUIRE(r->type == REDIS_REPLY_INTEGER);
  REQUIRE(r->integer == 1);
}

// A primary, its replica (through a proxy, so that the replication link can
// turn into a black hole) and a Sentinel watching them; the CLI consumes
// through the Sentinel.
struct SentinelRig {
  explicit SentinelRig(bool group) : group_(group) {
    Client s(sentinel.port());
    INFO("sentinel log: ", read_file(sentinel.dir() / "redis.log"));
    REQUIRE_MESSAGE(eventually([&] { return knows_replica(s, replica.port()); }), "Sentinel never saw the replica");
    REQUIRE(master_port(s) == primary.port());
  }

  RedisServer primary;
  LinkProxy replication{primary.port()};
  RedisServer replica{{"--replicaof", "127.0.0.1", std::to_string(replication.port()), "--repl-timeout", "600"}};
  RedisServer sentinel{{"--sentinel"}, sentinel_config(primary.port())};
  TempDir dir;
  int produced = 0;

  std::string url() const { return fmt::format("redis+sentinel://127.0.0.1:{}/{}", sentinel.port(), k_master); }

  void start() {
    std::vector<std::string> args = {"consume",    "--redis",    url(),
                                     "--stream",   "orders",     "--consumer",
                                     "edge-7",     "--data-dir", (dir.path() / "ckpt").string(),
                                     "--flush-ms", "20"};
    if (group_) args.insert(args.end(), {"--group", "billing"});
    args.insert(args.end(), k_quick_timeouts.begin(), k_quick_timeouts.end());
    cli = std::make_unique<CliProcess>(args, dir.path());
    INFO("stderr: ", cli->err());
    REQUIRE(eventually([&] { return mentions(cli->err(), "resume after") || !cli->running(); }));
    REQUIRE(cli->running());
  }

  void produce_on(RedisServer& server, int count) {
    Client c(server.port());
    c.produce("orders", produced + 1, count);
    produced += count;
  }

  // The sink has written entry `produced`.
  void wait_handled() {
    const bool done = eventually([&] {
      const auto got = handled_numbers(cli->out());
      return (!got.empty() && got.back() >= produced) || !cli->running();
    });
    INFO("stderr: ", cli->err());
    REQUIRE_MESSAGE(done, "the sink did not reach entry ", produced);
    REQUIRE(cli->running());
  }

  // Sentinel promotes the replica, and says so.
  void fail_over() {
    Client s(sentinel.port());
    const auto r = s.run({"SENTINEL", "FAILOVER", k_master});
    REQUIRE_MESSAGE(r->type == REDIS_REPLY_STATUS, text_of(r));
    INFO("sentinel log: ", read_file(sentinel.dir() / "redis.log"));
    REQUIRE(eventually([&] { return master_port(s) == replica.port(); }));
  }

  CliResult stop() {
    cli->signal(SIGTERM);
    return cli->wait();
  }

  std::unique_ptr<CliProcess> cli;

 private:
  bool group_;
};

}  // namespace

TEST_CASE("behind Sentinel, a failover to a replica that has everything is followed: nothing lost, no regression") {
  for (const bool group : k_modes) {
    CAPTURE(group);
    SentinelRig rig(group);
    rig.start();
    rig.produce_on(rig.primary, 500);
    rig.wait_handled();
    Client p(rig.primary.port());
    wait_replicated(p);
    rig.fail_over();
    // The old primary's clients are dropped when it is made a replica; the
    // consumer asks the Sentinel again and reads on from the new primary.
    rig.produce_on(rig.replica, 500);
    rig.wait_handled();
    const auto r = rig.stop();
    INFO("stderr: ", r.err);
    CHECK(r.exit_code == 0);
    const auto handled = handled_numbers(r.out);
    CHECK(exactly_once_in_order(handled, 1000) == "each of the 1000 entries exactly once, in order");
    CHECK(mentions(r.err, "reconnected"));
    CHECK_FALSE(mentions(r.err, "went backwards"));
    CHECK_FALSE(mentions(r.err, "restarting"));
    // The clean stop wrote the Redis copy on the new primary, at the last entry.
    Client n(rig.replica.port());
    const auto last = n.run({"XREVRANGE", "orders", "+", "-", "COUNT", "1"});
    REQUIRE(last->elements == 1);
    const auto hash =
        n.run({"HGET", group ? "streamckpt:{orders}:billing:edge-7" : "streamckpt:{orders}::edge-7", "id"});
    CHECK(text_of(hash) == std::string(last->element[0]->element[0]->str));
    if (group) {
      const auto pending = n.run({"XPENDING", "orders", "billing"});
      CHECK(pending->element[0]->integer == 0);
    }
  }
}

TEST_CASE("behind Sentinel, a replica promoted while it lagged: REGRESSED after the switch, nothing lost") {
  for (const bool group : k_modes) {
    CAPTURE(group);
    SentinelRig rig(group);
    rig.start();
    rig.produce_on(rig.primary, 500);
    rig.wait_handled();
    Client p(rig.primary.port());
    wait_replicated(p);
    // The replica stops receiving, without knowing it (a black hole, and a
    // replication timeout longer than the test), while the consumer handles
    // entries 501 to 800 on the primary.
    rig.replication.set_both(DirectionFaults::black_hole());
    rig.produce_on(rig.primary, 300);
    rig.wait_handled();
    rig.fail_over();
    // The consumer finds the new primary's stream behind what it read, says
    // so, and starts again under --on-regressed first.
    INFO("stderr: ", rig.cli->err());
    REQUIRE(eventually([&] { return mentions(rig.cli->err(), "restarting to apply --on-regressed"); }));
    REQUIRE(eventually([&] { return occurrences(rig.cli->err(), "resume after") == 2 || !rig.cli->running(); }));
    // New entries on the new primary: IDs later than any the old one gave.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    rig.produce_on(rig.replica, 200);
    rig.wait_handled();
    const auto r = rig.stop();
    INFO("stderr: ", r.err);
    CHECK(r.exit_code == 0);
    CHECK(none_lost(handled_numbers(r.out), 1000) == "no entry lost");
    CHECK(mentions(r.err, "stream 'orders' went backwards while running: it (last-generated-id "));
    CHECK(mentions(r.err, "; Redis lost data, or failed over to a stale replica"));
    CHECK(mentions(r.err, "; REGRESSED: "));
  }
}

TEST_CASE("behind Sentinel, no Sentinel naming the master: exit 1, and what each one said") {
  RedisServer primary;
  RedisServer sentinel{{"--sentinel"}, sentinel_config(primary.port())};
  TempDir dir;
  const int nobody = free_port();
  const auto url = fmt::format("redis+sentinel://127.0.0.1:{},127.0.0.1:{}/orders-main", nobody, sentinel.port());
  const auto r = run_cli({"consume", "--redis", url, "--stream", "orders", "--consumer", "edge-7", "--data-dir",
                          (dir.path() / "ckpt").string(), "--startup-timeout-ms", "0"});
  CHECK(r.exit_code == 1);
  CHECK_MESSAGE(mentions(r.err, fmt::format("streamckpt: error: no Sentinel of {} named the master: cannot connect to "
                                            "127.0.0.1:{}: Connection refused; Sentinel 127.0.0.1:{}: it knows no "
                                            "master named 'orders-main'\n",
                                            url, nobody, sentinel.port())),
                r.err);
  CHECK(handled_numbers(r.out).empty());
}
