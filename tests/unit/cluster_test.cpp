// Redis Cluster with no server: key slots (CRC16 XMODEM of the hash tag or
// the key), which master a CLUSTER SHARDS reply names for a slot, and what a
// MOVED or ASK reply says.
#include "redis/cluster.hpp"

#include "resp_values.hpp"

#include <doctest/doctest.h>

using streamckpt::errc;
using namespace streamckpt::redis;
using namespace streamckpt::test;

namespace {

Value node(const char* role, const char* health, const char* endpoint, long long port) {
  return array({str("id"), str("0123"), str("port"), integer(port), str("ip"), str("10.0.0.9"), str("endpoint"),
                str(endpoint), str("role"), str(role), str("replication-offset"), integer(42), str("health"),
                str(health)});
}

Value shard(std::vector<Value> slots, std::vector<Value> nodes) {
  return array({str("slots"), array(std::move(slots)), str("nodes"), array(std::move(nodes))});
}

}  // namespace

TEST_CASE("a key's slot: CRC16 of its hash tag, or of the whole key") {
  CHECK(key_slot("123456789") == 12739);  // the CRC16 XMODEM check value, 0x31C3
  CHECK(key_slot("orders") == key_slot("{orders}"));
  CHECK(key_slot("{user1000}.following") == key_slot("{user1000}.followers"));
  CHECK(key_slot("{user1000}.following") == key_slot("user1000"));
  CHECK(key_slot("{}x") != key_slot("x"));  // an empty tag is no tag
  CHECK(key_slot("") == 0);
}

TEST_CASE("CLUSTER SHARDS: the online master of the shard that holds the slot") {
  const auto shards =
      array({shard({integer(0), integer(5460)}, {node("master", "online", "127.0.0.1", 7000)}),
             shard({integer(5461), integer(10922), integer(12000), integer(12000)},
                   {node("replica", "online", "127.0.0.1", 7004), node("master", "online", "127.0.0.1", 7001)}),
             shard({str("10923"), str("16383")}, {node("master", "online", "?", 7002)})});
  std::string why;
  auto found = slot_master(shards, 100, &why);
  REQUIRE(found.has_value());
  CHECK(*found == Url::Address{"127.0.0.1", 7000});
  found = slot_master(shards, 12000, &why);  // a second range of the shard
  REQUIRE(found.has_value());
  CHECK(*found == Url::Address{"127.0.0.1", 7001});
  found = slot_master(shards, 12739, &why);  // slots as strings; no endpoint: the ip
  REQUIRE(found.has_value());
  CHECK(*found == Url::Address{"10.0.0.9", 7002});
}

TEST_CASE("CLUSTER SHARDS without an online master for the slot: not ready, and why") {
  struct Case {
    Value reply;
    const char* why;
  };
  const Case cases[] = {
      {array({shard({integer(0), integer(99)}, {node("master", "online", "h", 1)})}),
       "no node serves slot 100 (the cluster is not fully set up)"},
      {array({shard({integer(0), integer(16383)},
                    {node("master", "failed", "h", 1), node("replica", "online", "h", 2)})}),
       "the master of slot 100 is failed (a failover may be in progress)"},
      {array({shard({integer(0), integer(16383)}, {node("replica", "online", "h", 2)})}),
       "slot 100 has no master (a failover may be in progress)"},
      {array({shard({integer(0), integer(16383)}, {node("master", "online", "h", 0)})}),
       "the master of slot 100 has no address in CLUSTER SHARDS"},
      {error("ERR This instance has cluster support disabled"),
       "CLUSTER SHARDS refused: ERR This instance has cluster support disabled"},
      {str("nonsense"), "an unexpected reply to CLUSTER SHARDS"},
  };
  for (const auto& c : cases) {
    std::string why;
    const auto found = slot_master(c.reply, 100, &why);
    REQUIRE_FALSE(found.has_value());
    CHECK(found.error() == errc::redis_not_ready);
    CHECK(why == c.why);
  }
}

TEST_CASE("MOVED and ASK replies: the kind, the slot, the address; anything else is none") {
  auto r = redirect_of(error("MOVED 3999 127.0.0.1:6381"));
  REQUIRE(r);
  CHECK(r->kind == Redirect::Kind::moved);
  CHECK(r->slot == 3999);
  CHECK(r->to == Url::Address{"127.0.0.1", 6381});
  r = redirect_of(error("ASK 12739 ::1:7002"));
  REQUIRE(r);
  CHECK(r->kind == Redirect::Kind::ask);
  CHECK(r->to == Url::Address{"::1", 7002});
  r = redirect_of(error("MOVED 1 :7003"));  // no host: the node that answered
  REQUIRE(r);
  CHECK(r->to == Url::Address{"", 7003});
  CHECK_FALSE(redirect_of(error("MOVED 16384 h:1")));
  CHECK_FALSE(redirect_of(error("MOVED x h:1")));
  CHECK_FALSE(redirect_of(error("MOVED 1 h")));
  CHECK_FALSE(redirect_of(error("ASK 1 h:0")));
  CHECK_FALSE(redirect_of(error("ERR MOVED 1 h:1")));
  CHECK_FALSE(redirect_of(str("MOVED 1 h:1")));
}
