// The keys of a checkpoint (hash, lease, deliveries) hash to the stream's
// cluster slot, asked of a real cluster-enabled redis-server (CLUSTER
// KEYSLOT), for stream names with and without braces; a name with a '}' but
// no hash tag is the one kind no key can follow.
#include "redis/checkpoint_store.hpp"
#include "redis/cluster.hpp"
#include "redis_server.hpp"

#include <doctest/doctest.h>

using namespace streamckpt::test;
using streamckpt::CheckpointKey;
namespace redis = streamckpt::redis;

namespace {

long long slot_of(Client& c, const std::string& key) {
  const auto r = c.run({"CLUSTER", "KEYSLOT", key});
  REQUIRE(r->type == REDIS_REPLY_INTEGER);
  return r->integer;
}

}  // namespace

TEST_CASE("every key of a checkpoint is in its stream's slot, braces in the name or not") {
  RedisServer node({"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"});
  Client c(node.port());
  const char* const streams[] = {"orders",  "{t1}:events", "{t1}:other", "a{b}c", "{{x}}", "{open", "a:b:c",
                                 "%7Bt%7D", "{ü}:utf8",    "tail{t}",    "}{t}",  "{t}}",  "{a}b}c"};
  for (const std::string stream : streams) {
    CAPTURE(stream);
    REQUIRE(redis::slot_keys_possible(stream));
    const auto slot = slot_of(c, stream);
    CHECK(redis::key_slot(stream) == slot);  // the library's own hashing, as the server's
    for (const CheckpointKey& key : {CheckpointKey{stream, "billing", "edge-7"}, CheckpointKey{stream, "", "c{1}"}}) {
      CHECK(slot_of(c, redis::checkpoint_hash_key(key)) == slot);
      CHECK(slot_of(c, redis::lease_key(key)) == slot);
      CHECK(slot_of(c, redis::deliveries_key(key)) == slot);
    }
  }
  // A '}' and no tag: the stream's slot is its whole name's, which no key
  // that adds anything shares.
  for (const std::string stream : {"a}b", "{}x}", "close}", "x{}{y}", "{}x"}) {
    CAPTURE(stream);
    CHECK_FALSE(redis::slot_keys_possible(stream));
    CHECK(slot_of(c, redis::checkpoint_hash_key({stream, "g", "c"})) != slot_of(c, stream));
  }
}
