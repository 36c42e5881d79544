// The Redis keys of a consumer identity: its checkpoint hash and its lease.
#include "redis/checkpoint_store.hpp"
#include "redis/cluster.hpp"

#include <doctest/doctest.h>

#include <set>

using streamckpt::CheckpointKey;
using streamckpt::redis::checkpoint_hash_key;
using streamckpt::redis::deliveries_key;
using streamckpt::redis::hash_tag;
using streamckpt::redis::lease_key;
using streamckpt::redis::slot_keys_possible;

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
      {"{t}:a", "g", "c"},    {"{t}:b", "g", "c"},   // one hash tag, two streams
      {"{t}", "g", "c"},      {"t", "g", "c"},       // the tag alone, and the tag's text as a stream
      {"t}:a", "g", "c"},     {"{t}:a}", "g", "c"},  // a '}' without a tag, and after one
  };
  std::set<std::string> seen;
  for (const auto& k : keys) {
    CAPTURE(k.stream);
    CAPTURE(k.group);
    CAPTURE(k.consumer);
    CHECK(seen.insert(checkpoint_hash_key(k)).second);
    CHECK(seen.insert(lease_key(k)).second);
  }
  // The group's deliveries hash is no consumer's hash or lease.
  for (const auto& k : keys) CHECK(seen.count(deliveries_key(k)) == 0);
}

TEST_CASE("a stream with a hash tag of its own: its keys carry that tag, then the name percent-encoded") {
  CHECK(checkpoint_hash_key({"{t1}:events", "billing", "edge-7"}) ==
        "streamckpt:{t1}:%7Bt1%7D%3Aevents:billing:edge-7");
  CHECK(lease_key({"{t1}:events", "billing", "edge-7"}) == "streamckpt:{t1}:%7Bt1%7D%3Aevents:billing:edge-7:lease");
  CHECK(deliveries_key({"{t1}:events", "billing", "x"}) == "streamckpt:{t1}:%7Bt1%7D%3Aevents:billing::deliveries");
  CHECK(checkpoint_hash_key({"a{b}c", "", "e"}) == "streamckpt:{b}:a%7Bb%7Dc::e");
  // No tag, no '}': the whole name is hashed, and is the keys' tag.
  CHECK(checkpoint_hash_key({"{open", "", "e"}) == "streamckpt:{{open}::e");
  // A '}' but no tag ("{}" is empty): no key can follow it; the form stays.
  CHECK(checkpoint_hash_key({"{}x", "", "e"}) == "streamckpt:{{}x}::e");
}

TEST_CASE("the hash tag is Redis Cluster's: first '{', first '}' after it, not empty") {
  CHECK(hash_tag("{t1}:events") == "t1");
  CHECK(hash_tag("a{b}{c}") == "b");
  CHECK(hash_tag("{{x}}") == "{x");
  CHECK(hash_tag("a}{b}") == "b");
  CHECK_FALSE(hash_tag("{}x"));
  CHECK_FALSE(hash_tag("orders"));
  CHECK_FALSE(hash_tag("{open"));
  CHECK_FALSE(hash_tag("close}"));
  CHECK(slot_keys_possible("orders"));
  CHECK(slot_keys_possible("{t1}:events"));
  CHECK(slot_keys_possible("{open"));
  CHECK_FALSE(slot_keys_possible("close}"));
  CHECK_FALSE(slot_keys_possible("{}x}"));
}
