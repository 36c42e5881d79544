// Redis Cluster, for real: three masters (and, for the failover, a replica
// each) on loopback, joined by the test with CLUSTER MEET, ADDSLOTSRANGE and
// REPLICATE; the CLI is given one node that does not own the stream
// (redis+cluster://…). Checked against the ledger: a stream with a hash tag
// in its name, the stream's slot migrated to another master under the
// consumer, and the stream's master killed for good.
#include "fault_run.hpp"
#include "ledger.hpp"

#include "redis/checkpoint_store.hpp"
#include "redis/cluster.hpp"

#include <doctest/doctest.h>

#include <fmt/format.h>

#include <csignal>
#include <memory>
#include <string>
#include <thread>

using namespace streamckpt::test;
namespace redis = streamckpt::redis;

namespace {

std::string text_of(const Reply& r) { return r && r->str ? std::string(r->str, r->len) : std::string{}; }

std::string node_id(Client& c) { return text_of(c.run({"CLUSTER", "MYID"})); }

// A cluster of `masters` masters with `replicas` replicas each; slots split
// evenly in node order.
struct Cluster {
  Cluster(int masters, int replicas) {
    for (int i = 0; i < masters * (1 + replicas); ++i)
      nodes.push_back(std::make_unique<RedisServer>(std::vector<std::string>{
          "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000"}));
    Client first(nodes[0]->port());
    for (std::size_t i = 1; i < nodes.size(); ++i)
      REQUIRE(text_of(first.run({"CLUSTER", "MEET", "127.0.0.1", std::to_string(nodes[i]->port())})) == "OK");
    for (int m = 0; m < masters; ++m) {
      Client c(nodes[m]->port());
      const int from = m * redis::k_cluster_slots / masters, to = (m + 1) * redis::k_cluster_slots / masters - 1;
      REQUIRE(text_of(c.run({"CLUSTER", "ADDSLOTSRANGE", std::to_string(from), std::to_string(to)})) == "OK");
    }
    for (int m = 0; m < masters; ++m) {
      Client master(nodes[m]->port());
      const auto id = node_id(master);
      for (int r = 0; r < replicas; ++r) {
        Client c(nodes[masters + m * replicas + r]->port());
        // The replica must have heard of its master first.
        REQUIRE(eventually([&] { return text_of(c.run({"CLUSTER", "REPLICATE", id})) == "OK"; }));
      }
    }
    for (auto& n : nodes) {
      Client c(n->port());
      REQUIRE_MESSAGE(eventually([&] {
                        return text_of(c.run({"CLUSTER", "INFO"})).find("cluster_state:ok") == 0;
                      }),
                      "the cluster did not come up");
    }
    masters_ = masters;
  }

  // The master that owns `key`'s slot now, by its own account (CLUSTER
  // NODES, its "myself" line: flags, then its slots and ranges from the
  // ninth field on). Nodes that were killed are skipped.
  RedisServer& owner_of(const std::string& key) {
    auto* owner = find_owner(key);
    REQUIRE_MESSAGE(owner, "no master owns slot ", redis::key_slot(key));
    return *owner;
  }
  // nullptr while none does (a failover in progress).
  RedisServer* find_owner(const std::string& key) {
    const int slot = redis::key_slot(key);
    for (auto& n : nodes) {
      std::unique_ptr<Client> probe;
      try {
        probe = std::make_unique<Client>(n->port());
      } catch (const std::exception&) {
        continue;
      }
      for (const auto& line : lines_with(text_of(probe->run({"CLUSTER", "NODES"})), "myself")) {
        std::vector<std::string> fields;
        for (std::size_t at = 0; at <= line.size();) {
          const auto space = std::min(line.find(' ', at), line.size());
          fields.push_back(line.substr(at, space - at));
          at = space + 1;
        }
        if (fields.size() < 8 || fields[2].find("master") == std::string::npos) continue;
        for (std::size_t f = 8; f < fields.size(); ++f) {
          const auto& range = fields[f];
          if (range.empty() || range.front() == '[') continue;
          const auto dash = range.find('-');
          const int from = std::stoi(range.substr(0, dash));
          const int to = dash == std::string::npos ? from : std::stoi(range.substr(dash + 1));
          if (from <= slot && slot <= to) return n.get();
        }
      }
    }
    return nullptr;
  }

  RedisServer& other_master(const RedisServer& than) {
    for (int m = 0; m < masters_; ++m)
      if (nodes[m].get() != &than) return *nodes[m];
    return *nodes[0];
  }

  std::string url_of(const RedisServer& node) const { return fmt::format("redis+cluster://127.0.0.1:{}", node.port()); }

  std::vector<std::unique_ptr<RedisServer>> nodes;

 private:
  int masters_ = 0;
};

struct ClusterRun {
  ClusterRun(Cluster& c, std::string stream_name, std::string url) : cluster(c), stream(std::move(stream_name)) {
    std::vector<std::string> args = {"consume",
                                     "--redis",
                                     std::move(url),
                                     "--stream",
                                     stream,
                                     "--group",
                                     "billing",
                                     "--consumer",
                                     "edge-7",
                                     "--data-dir",
                                     (dir.path() / "ckpt").string(),
                                     "--flush-ms",
                                     "20"};
    args.insert(args.end(), k_quick_timeouts.begin(), k_quick_timeouts.end());
    cli = std::make_unique<CliProcess>(args, dir.path());
    INFO("stderr: ", cli->err());
    REQUIRE(eventually([&] { return mentions(cli->err(), "resume after") || !cli->running(); }));
    REQUIRE(cli->running());
  }

  void produce(int count) {
    Client c(cluster.owner_of(stream).port());
    c.produce(stream, produced + 1, count);
    produced += count;
  }

  void wait_handled() {
    const bool done = eventually([&] {
      const auto got = handled_numbers(cli->out());
      return (!got.empty() && got.back() >= produced) || !cli->running();
    });
    INFO("stderr: ", cli->err());
    REQUIRE_MESSAGE(done, "the sink did not reach entry ", produced);
    REQUIRE(cli->running());
  }

  CliResult stop() {
    cli->signal(SIGTERM);
    return cli->wait();
  }

  Cluster& cluster;
  std::string stream;
  TempDir dir;
  int produced = 0;
  std::unique_ptr<CliProcess> cli;
};

// Moves `slot` from `from` to `to` as redis-cli --cluster reshard does, in
// two steps: IMPORTING and MIGRATING, then MIGRATE key by key (with a pause
// after each, so that the consumer meets the slot half moved); later the
// slot's new owner on every master.
struct SlotMigration {
  SlotMigration(Cluster& c, RedisServer& from, RedisServer& to, std::uint16_t slot)
      : cluster(c), source(from.port()), target(to.port()), to_port(to.port()), s(std::to_string(slot)) {
    target_id = node_id(target);
    REQUIRE(text_of(target.run({"CLUSTER", "SETSLOT", s, "IMPORTING", node_id(source)})) == "OK");
    REQUIRE(text_of(source.run({"CLUSTER", "SETSLOT", s, "MIGRATING", target_id})) == "OK");
  }

  void move_keys() {
    const auto keys = source.run({"CLUSTER", "GETKEYSINSLOT", s, "100"});
    REQUIRE(keys->elements >= 2);  // the stream and the checkpoint's hash at least
    for (std::size_t i = 0; i < keys->elements; ++i) {
      const std::string key(keys->element[i]->str, keys->element[i]->len);
      const auto r = source.run({"MIGRATE", "127.0.0.1", std::to_string(to_port), key, "0", "5000"});
      REQUIRE_MESSAGE(text_of(r) == "OK", key, ": ", text_of(r));
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
  }

  // Entries numbered from `first`, added on the target while the slot is
  // still the source's: each XADD after ASKING, as a client told ASK does.
  void produce_on_target(const std::string& stream, int first, int count) {
    for (int n = first; n < first + count; ++n) {
      REQUIRE(text_of(target.run({"ASKING"})) == "OK");
      REQUIRE(target.run({"XADD", stream, "*", "n", std::to_string(n)})->type == REDIS_REPLY_STRING);
    }
  }

  void finish() {
    for (auto& n : cluster.nodes) {
      Client c(n->port());
      if (std::string(c.run({"ROLE"})->element[0]->str) == "master")
        REQUIRE(text_of(c.run({"CLUSTER", "SETSLOT", s, "NODE", target_id})) == "OK");
    }
  }

  Cluster& cluster;
  Client source, target;
  int to_port;
  std::string s, target_id;
};

}  // namespace

TEST_CASE("in a cluster, given a node that does not own the stream: a name with a hash tag, keys in its slot") {
  Cluster cluster(3, 0);
  const std::string stream = "{t1}:events";
  auto& owner = cluster.owner_of(stream);
  ClusterRun run(cluster, stream, cluster.url_of(cluster.other_master(owner)));
  run.produce(500);
  run.wait_handled();
  const auto r = run.stop();
  INFO("stderr: ", r.err);
  CHECK(r.exit_code == 0);
  CHECK(exactly_once_in_order(handled_numbers(r.out), 500) == "each of the 500 entries exactly once, in order");
  // The Redis copy is on the stream's node, at the last entry, under the
  // key that carries the stream's own tag.
  Client o(owner.port());
  const auto last = o.run({"XREVRANGE", stream, "+", "-", "COUNT", "1"});
  REQUIRE(last->elements == 1);
  const auto key = redis::checkpoint_hash_key({stream, "billing", "edge-7"});
  CHECK(key == "streamckpt:{t1}:%7Bt1%7D%3Aevents:billing:edge-7");
  CHECK(text_of(o.run({"HGET", key, "id"})) == std::string(last->element[0]->element[0]->str));
  CHECK(o.run({"XPENDING", stream, "billing"})->element[0]->integer == 0);
  // The CLI's checkpoint commands find the copy through the same node.
  const auto shown =
      run_cli({"checkpoint", "show", "--data-dir", (run.dir.path() / "ckpt").string(), "--stream", stream, "--group",
               "billing", "--consumer", "edge-7", "--redis", cluster.url_of(cluster.other_master(owner)), "--json"});
  INFO("stderr: ", shown.err);
  CHECK(shown.exit_code == 0);
  const std::string last_id(last->element[0]->element[0]->str);
  CHECK(mentions(shown.out, R"("redis":{"id":")" + last_id + R"(","valid":true,)"));
  CHECK(mentions(shown.out, R"("effective":")" + last_id + "\""));
}

TEST_CASE("in a cluster, the stream's slot migrated to another master under the consumer: nothing lost") {
  Cluster cluster(3, 0);
  const std::string stream = "orders";
  auto& from = cluster.owner_of(stream);
  auto& to = cluster.other_master(from);
  ClusterRun run(cluster, stream, cluster.url_of(to));
  run.produce(300);
  run.wait_handled();
  SlotMigration migration(cluster, from, to, redis::key_slot(stream));
  migration.move_keys();
  // Every key is on the target, the slot still the source's: the consumer
  // follows ASK there, and reads what is added there meanwhile.
  migration.produce_on_target(stream, 301, 100);
  run.produced += 100;
  run.wait_handled();
  REQUIRE(&cluster.owner_of(stream) == &from);
  migration.finish();
  REQUIRE(&cluster.owner_of(stream) == &to);
  run.produce(200);
  run.wait_handled();
  const auto r = run.stop();
  INFO("stderr: ", r.err);
  CHECK(r.exit_code == 0);
  CHECK(none_lost(handled_numbers(r.out), 600) == "no entry lost");
  CHECK_FALSE(mentions(r.err, "went backwards"));
  // It met the slot half moved (ASK) or moved (MOVED), and followed it.
  CHECK(
      (mentions(r.err, "read failed (Redis answered: ASK ") || mentions(r.err, "read failed (Redis answered: MOVED ")));
  Client t(to.port());
  const auto last = t.run({"XREVRANGE", stream, "+", "-", "COUNT", "1"});
  REQUIRE(last->elements == 1);
  CHECK(text_of(t.run({"HGET", redis::checkpoint_hash_key({stream, "billing", "edge-7"}), "id"})) ==
        std::string(last->element[0]->element[0]->str));
  CHECK(t.run({"XPENDING", stream, "billing"})->element[0]->integer == 0);
}

TEST_CASE("in a cluster, the stream's master killed for good: its replica takes over, nothing lost") {
  Cluster cluster(3, 1);
  const std::string stream = "orders";
  auto& master = cluster.owner_of(stream);
  ClusterRun run(
      cluster, stream,
      fmt::format("redis+cluster://127.0.0.1:{},127.0.0.1:{}", master.port(), cluster.other_master(master).port()));
  run.produce(300);
  run.wait_handled();
  {
    Client m(master.port());
    m.run({"INCR", "{orders}:replication-marker"});
    REQUIRE(m.run({"WAIT", "1", "10000"})->integer == 1);
  }
  master.kill();
  // A replica is elected once the others see the master fail.
  Client survivor(cluster.other_master(master).port());
  REQUIRE_MESSAGE(
      eventually([&] {
        const auto* owner = cluster.find_owner(stream);
        return text_of(survivor.run({"CLUSTER", "INFO"})).find("cluster_state:ok") == 0 && owner && owner != &master;
      }),
      "no replica took over");
  run.produce(300);
  run.wait_handled();
  const auto r = run.stop();
  INFO("stderr: ", r.err);
  CHECK(r.exit_code == 0);
  CHECK(none_lost(handled_numbers(r.out), 600) == "no entry lost");
  CHECK(mentions(r.err, "reconnect"));
  CHECK_FALSE(mentions(r.err, "went backwards"));
}
