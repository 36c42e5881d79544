// Parsing of stream replies (XREAD/XREADGROUP, XINFO STREAM, XINFO GROUPS).
#pragma once

#include "redis/resp.hpp"

#include <streamckpt/consumer.hpp>
#include <streamckpt/report.hpp>

#include <optional>
#include <string>
#include <vector>

namespace streamckpt::detail {

// An entry as read; `deleted` when the pending list still holds an ID whose
// payload was deleted (XREADGROUP returns it with a nil payload).
struct ReadEntry {
  Event event;
  bool deleted = false;
};

// The entries of an XREAD/XREADGROUP reply for one stream. A nil reply (BLOCK
// timed out) is an empty list.
// Pass the reply with std::move: its strings are moved into the entries.
[[nodiscard]] Result<std::vector<ReadEntry>> parse_read_reply(redis::Value reply);

// The entries of an XCLAIM or XRANGE reply: [id, [field, value, …]], ….
[[nodiscard]] Result<std::vector<ReadEntry>> parse_entries(redis::Value reply);

[[nodiscard]] Result<StreamState> parse_xinfo_stream(const redis::Value& reply);

struct GroupInfo {
  std::string name;
  StreamId last_delivered;
  std::uint64_t pending = 0;
  std::uint64_t consumers = 0;
  std::optional<std::uint64_t> entries_read;  // Redis 7; nil when Redis cannot tell
  std::optional<std::uint64_t> lag;           // likewise
};
[[nodiscard]] Result<std::vector<GroupInfo>> parse_xinfo_groups(const redis::Value& reply);

struct ConsumerInfo {
  std::string name;
  std::uint64_t pending = 0;
  std::uint64_t idle_ms = 0;
};
// XINFO CONSUMERS.
[[nodiscard]] Result<std::vector<ConsumerInfo>> parse_xinfo_consumers(const redis::Value& reply);

}  // namespace streamckpt::detail
