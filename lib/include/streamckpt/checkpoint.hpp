// Checkpoint: where one consumer of one stream stands, and its binary record.
#pragma once

#include <streamckpt/error.hpp>
#include <streamckpt/stream_id.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace streamckpt {

// Identifies whose checkpoint it is. `group` is empty for plain XREAD.
struct CheckpointKey {
  static constexpr std::size_t k_max_name_bytes = 1024;

  std::string stream{};
  std::string group{};
  std::string consumer{};

  bool plain() const noexcept { return group.empty(); }
  // "stream/group/consumer", for messages.
  std::string describe() const;
  // An empty stream or consumer, or a name longer than k_max_name_bytes, is
  // invalid.
  [[nodiscard]] boost::system::error_code validate() const;

  friend bool operator==(const CheckpointKey&, const CheckpointKey&) = default;
};

struct Checkpoint {
  static constexpr std::size_t k_max_metadata_bytes = 1024;

  CheckpointKey key;
  StreamId id;                   // the last handled entry: every entry <= id was handled
  std::uint64_t epoch = 0;       // bumped when the checkpoint is forced backwards
  std::uint64_t updated_ms = 0;  // wall-clock time of the commit, ms since the Unix epoch
  std::string metadata;          // small application state, at most k_max_metadata_bytes
  // How many entries the stream had received up to and including `id`, as far
  // as this consumer knows (exact in plain mode and for a group's only
  // consumer). With XINFO's entries-added it counts the entries lost to a
  // trim.
  std::uint64_t entries_seen = 0;

  // The order in which checkpoints of one identity supersede each other, as
  // the Redis update script compares them: the higher epoch (a checkpoint
  // forced backwards starts a new one), then the higher ID.
  std::pair<std::uint64_t, StreamId> rank() const { return {epoch, id}; }
};

// Wall-clock milliseconds since the Unix epoch, for Checkpoint::updated_ms.
std::uint64_t now_unix_ms();

// One copy of a checkpoint (local or Redis), as read at start-up.
struct CheckpointCopy {
  enum class State { absent, valid, invalid };
  State state = State::absent;
  std::optional<Checkpoint> checkpoint;  // set when valid
  std::string reason;                    // why it is invalid; empty otherwise

  bool valid() const noexcept { return state == State::valid; }
  static CheckpointCopy absent() { return {}; }
  static CheckpointCopy of(Checkpoint c) { return {State::valid, std::move(c), {}}; }
  static CheckpointCopy invalid(std::string why) { return {State::invalid, std::nullopt, std::move(why)}; }
};

// The record codec. Layout (all integers little-endian):
//   u8 version (1) | u16 len, stream | u16 len, group | u16 len, consumer |
//   u64 ms | u64 seq | u64 epoch | u64 updated_ms | u64 entries_seen |
//   u16 len, metadata | u32 CRC-32C
// The CRC covers every byte before it and is always the last four bytes.
namespace record {

inline constexpr std::uint8_t k_version = 1;

// CRC-32C (Castagnoli) of `bytes`, as stored in records and in the Redis
// copy's `crc` field.
std::uint32_t crc32c(std::string_view bytes);
inline constexpr std::size_t k_max_bytes = 8192;

// REQUIRES: c.key.validate() succeeds and c.metadata fits k_max_metadata_bytes.
std::string encode(const Checkpoint& c);

// Never throws and never reads out of bounds: a bad record is an error
// (record_truncated, record_oversize, record_bad_crc, record_unknown_version,
// record_malformed).
[[nodiscard]] Result<Checkpoint> decode(std::string_view bytes) noexcept;

// A list of entry IDs, as the local store keeps the entries a consumer
// handled whose XACK may not have reached Redis. Layout: u32 count |
// count x (u64 ms | u64 seq) | u32 CRC-32C of the bytes before it.
std::string encode_ids(const std::vector<StreamId>& ids);
[[nodiscard]] Result<std::vector<StreamId>> decode_ids(std::string_view bytes) noexcept;

// The key encoding used by the local store: same length-prefixed names.
std::string encode_key(const CheckpointKey& key);
[[nodiscard]] Result<CheckpointKey> decode_key(std::string_view bytes) noexcept;

}  // namespace record
}  // namespace streamckpt
