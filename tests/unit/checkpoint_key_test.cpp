// The Redis keys of a consumer identity: its checkpoint hash and its lease.
#include "redis/checkpoint_store.hpp"

#include <doctest/doctest.h>

#include <set>

using streamckpt::CheckpointKey;
using streamckpt::redis::checkpoint_hash_key;
using streamckpt::redis::lease_key;

TEST_CASE("plain names appear as they are, the stream inside the cluster hash tag") {
  CHECK(checkpoint_hash_key({"orders", "billing", "edge-7"}) == "streamckpt:{orders}:billing:edge-7");
  CHECK(lease_key({"orders", "billing", "edge-7"}) == "streamckpt:{orders}:billing:edge-7:lease");
  CHECK(checkpoint_hash_key({"orders", "", "edge-7"}) == "streamckpt:{orders}::edge-7");  // plain mode
}

TEST_CASE("'%', ':', '{' and '}' in the group or consumer are percent-encoded; the stream keeps its bytes") {
  CHECK(checkpoint_hash_key({"a:b", "g:1", "c{x}%"}) == "streamckpt:{a:b}:g%3A1:c%7Bx%7D%25");
}

TEST_CASE("identities whose plain joins would collide get different hashes and leases") {
  const std::vector<CheckpointKey> keys = {
      {"s1", "b:c", "d"},     {"s1", "b", "c:d"},    // ':' inside a part
      {"s1", "b%3Ac", "d"},   {"s1", "b", "c%3Ad"},  // the encoded form, written literally
      {"s1", "g", "x:lease"}, {"s1", "g", "x"},      // a consumer named like a lease suffix
      {"a}:b", "g", "lease"}, {"a", "b}", "g"},      // a '}' that could close the hash tag early
      {"s1", "", "c"},        {"s1", "c", ""},
  };
  std::set<std::string> seen;
  for (const auto& k : keys) {
    CAPTURE(k.stream);
    CAPTURE(k.group);
    CAPTURE(k.consumer);
    CHECK(seen.insert(checkpoint_hash_key(k)).second);
    CHECK(seen.insert(lease_key(k)).second);
  }
}
