// Redis Cluster (sans-io): which slot a key hashes to, which node a
// CLUSTER SHARDS reply names as the master of a slot, and what a MOVED or
// ASK redirection says. Connection, given a redis+cluster:// URL and the key
// its link serves (a consumer's stream: every key of a checkpoint hashes to
// the stream's slot, see checkpoint_store.hpp), asks the nodes it knows for
// the slot map, connects to the slot's master, and asks again after MOVED,
// after a failover or when the cluster is down.
#pragma once

#include "redis/resp.hpp"
#include "redis/url.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace streamckpt::redis {

inline constexpr std::uint16_t k_cluster_slots = 16384;

// The hash tag Redis Cluster hashes `key` by: the text between its first '{'
// and the first '}' after it, when that is not empty.
std::optional<std::string_view> hash_tag(std::string_view key);
// The slot of `key`: CRC16 (XMODEM) of its hash tag, or of the whole key
// without one, modulo 16384.
std::uint16_t key_slot(std::string_view key);

Command shards_command();

// The master of `slot` in a reply to CLUSTER SHARDS: its endpoint (or ip)
// and port. Without one, `why` says why: no shard holds the slot, or its
// master is not online (a failover in progress), or the reply is not one.
[[nodiscard]] Result<Url::Address> slot_master(const Value& shards, std::uint16_t slot, std::string* why);

struct Redirect {
  enum class Kind { moved, ask };
  Kind kind = Kind::moved;
  std::uint16_t slot = 0;
  Url::Address to;  // an empty host: the host of the node that answered
};

// A MOVED or ASK error reply, read; nullopt for any other reply.
std::optional<Redirect> redirect_of(const Value& reply);

}  // namespace streamckpt::redis
