// The Redis copy of a checkpoint: a HASH any client can read, at
//   streamckpt:{<stream>}:<group>:<consumer>
// (the {<stream>} hash tag keeps it in the stream's cluster slot; <group> is
// empty in plain mode; '%', ':', '{' and '}' in <group> and <consumer> are
// percent-encoded, so that every identity has its own key). A stream whose
// name holds a hash tag of its own ("{t1}:events") is hashed by that tag:
// its keys are streamckpt:{t1}:%7Bt1%7D%3Aevents:<group>:<consumer>, the
// name percent-encoded after the tag. The hash's fields:
//   id            canonical entry ID, "<ms>-<seq>"
//   pos           the ID as "%020llu-%020llu": byte order equals ID order, so
//                 Lua compares strings and never rounds 64-bit numbers
//   epoch         bumped when a checkpoint is forced backwards
//   updated_ms    wall-clock ms of the update
//   owner         the instance that wrote it
//   metadata      application state (<= 1 KiB)
//   entries_seen  entries the stream had received up to id
//   crc           CRC-32C (8 hex digits) of the key names and the fields above
//                 but owner: garbage or a hash copied from another key fails it
#pragma once

#include "redis/connection.hpp"

#include <streamckpt/checkpoint.hpp>

#include <optional>
#include <string_view>

namespace streamckpt::redis {

// Whether any key can share `stream`'s cluster slot: false for a name with a
// '}' but no hash tag ("a}b"), whose slot is that of its whole text.
bool slot_keys_possible(std::string_view stream);

std::string checkpoint_hash_key(const CheckpointKey& key);
std::string lease_key(const CheckpointKey& key);
// The group's count of hand-outs again, per pending entry (a HASH): key
// streamckpt:{<stream>}:<group>::deliveries (the stream's slot, as above).
std::string deliveries_key(const CheckpointKey& key);

// Validates an HGETALL reply for `key` (sans-io).
CheckpointCopy parse_checkpoint_hash(const CheckpointKey& key, const Value& reply);

// CRC-32C over the key and the fields, as stored in `crc`.
std::string checkpoint_crc(const Checkpoint& c);

// The update: writes only when (epoch, pos) is greater (or `force`), and with
// `fenced`, only when `owner` holds the lease. Returns the EVALSHA command,
// and the EVAL fallback for NOSCRIPT.
struct UpdateCommands {
  Command evalsha;
  Command eval;
};
// `unxacked`, when given, replaces the hash's `unxacked` field whether or not
// the checkpoint is newer (still only by the lease holder): every list this
// identity writes names entries it handled, so an older one is safe to read.
UpdateCommands update_commands(const Checkpoint& c, const std::string& owner, bool force, bool fenced,
                               const std::string* unxacked = nullptr);

// The `unxacked` field: the entries a consumer handled whose XACK Redis has
// not confirmed, as canonical IDs joined by ','. Another member that claims
// the consumer's pending entries only XACKs these (sans-io).
std::string format_id_list(const std::vector<StreamId>& ids);
// nullopt for anything but such a list ("" is the empty one).
std::optional<std::vector<StreamId>> parse_id_list(std::string_view text);

enum class UpdateOutcome { written, not_newer, not_owner };

// The Redis copy; fails only when the link does (never "invalid" for that).
boost::asio::awaitable<Result<CheckpointCopy>> read_checkpoint(Connection& conn, const CheckpointKey& key,
                                                               std::string* detail);
// Runs the update (EVALSHA, then EVAL on NOSCRIPT).
boost::asio::awaitable<Result<UpdateOutcome>> write_checkpoint(Connection& conn, const Checkpoint& c,
                                                               const std::string& owner, bool force, bool fenced,
                                                               std::string* detail,
                                                               const std::string* unxacked = nullptr);

}  // namespace streamckpt::redis
