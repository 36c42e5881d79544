// Administering checkpoints from outside a consumer: read both copies and the
// stream, set a checkpoint by the epoch rule, delete one, list a store,
// describe a group. What `streamckpt checkpoint …` and `streamckpt group
// describe` run; any program may call it.
//
// Every call is synchronous: it opens the store, connects to Redis when it
// needs to, does its work and closes both before it returns. Reads open the
// store read-only and without its lock, so they work beside a running
// consumer; set and reset take the lock and fail with errc::store_locked
// while a consumer holds the directory. Any thread may call; calls on the
// same directory from several threads at once get store_locked as above.
#pragma once

#include <streamckpt/checkpoint.hpp>
#include <streamckpt/error.hpp>
#include <streamckpt/report.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace streamckpt::admin {

// Where one consumer's copies live.
struct Place {
  std::filesystem::path data_dir{};
  // redis://, rediss:// or unix:// URL, with the credentials in it. Empty:
  // Redis is not read (inspect() only; the others need it).
  std::string redis_url{};
};

// Both copies of a checkpoint, the stream, and where a consumer would resume.
struct Inspection {
  CheckpointCopy local{};                 // absent when the store has no record
  std::optional<CheckpointCopy> redis{};  // nullopt: Redis was not read
  // Not read without Redis; `exists` false when the stream is missing.
  std::optional<StreamState> stream{};
  // The position a consumer would resume after, by the start-up rule (a copy
  // beyond the stream's end or that has seen more entries than it is
  // invalid); nullopt when no copy is valid, and the policies would decide.
  // Without Redis, the local copy alone is judged.
  std::optional<StreamId> effective{};
};

// Fails with errc::no_store when place.data_dir holds no store, with the
// store's errors when it cannot be opened, errc::invalid_url for a malformed
// URL, and with Redis's errors (connect_failed, auth_failed, redis_error …).
// Every error carries the sentence that says what failed.
[[nodiscard]] Outcome<Inspection> inspect(const Place& place, const CheckpointKey& key);

// One record of a store.
struct Record {
  CheckpointKey key{};
  CheckpointCopy copy{};
};

struct Listing {
  std::vector<Record> checkpoints{};  // in key order
  std::size_t undecodable = 0;        // keys in the store that could not be decoded
};

// Every checkpoint record in a store (Redis is not read). Fails as inspect().
[[nodiscard]] Outcome<Listing> list(const std::filesystem::path& data_dir);

// What to set a checkpoint to: `id`, or the last entry at or before `at_ms`.
struct SetRequest {
  std::optional<StreamId> id{};
  // Unix ms: every entry up to then counts as handled (0-0 when none is).
  std::optional<std::uint64_t> at_ms{};
  // Move the checkpoint backwards too (in a new epoch, so that no older copy
  // supersedes it). Without it, a lower ID is refused with
  // errc::backwards_refused.
  bool force = false;
  // Decide and report, change nothing (the store is opened read-only and no
  // store is made).
  bool dry_run = false;
  // A checkpoint exported elsewhere: its metadata and entries_seen replace
  // the current ones, and the epoch is the higher of the two. `id` is its ID.
  std::optional<Checkpoint> imported{};
};

struct SetOutcome {
  StreamId id{};            // what both copies were (or would be) set to
  std::uint64_t epoch = 0;  // its epoch
  // request.id lay between entries: the entry at or below it was set, as
  // any ID between two entries stands for the lower.
  bool moved_to_entry = false;
  // With at_ms: the last entry at or before it; nullopt when none is (0-0 set).
  std::optional<StreamId> entry_at_time{};
  CheckpointCopy local_before{};  // the copies as they were
  CheckpointCopy redis_before{};
  // Group mode: the consumer's pending entries were dropped and the group's
  // last-delivered-id moved to `id` (so the group delivers again, in order,
  // what lies after it). False on a dry run.
  bool group_moved = false;
};

// Writes `request`'s position to both copies, Redis first. The stream must
// exist (errc::stream_missing), be a stream (errc::wrong_type) and reach the
// position (errc::beyond_stream: a checkpoint beyond last-generated-id would
// skip the entries added later up to it); each is checked before the store
// is opened, which is created when missing (not on a dry run). Neither or
// both of request.id and request.at_ms: errc::invalid_options.
[[nodiscard]] Outcome<SetOutcome> set(const Place& place, const CheckpointKey& key, const SetRequest& request);

struct ResetRequest {
  // Delete the Redis copy even though place.data_dir holds no store (a
  // mistyped directory would otherwise leave the real local copy to win at
  // the next start; without force that is refused with errc::no_store).
  bool force = false;
  bool dry_run = false;  // report, change nothing
};

struct ResetOutcome {
  bool store_found = false;       // the local copy was (or would be) deleted too
  CheckpointCopy local_before{};  // the copies as they were
  CheckpointCopy redis_before{};
  // Group mode: the group's last-delivered-id, when beyond 0-0: the next
  // start reads after it, whatever its start policy says.
  std::optional<StreamId> group_position{};
};

// Deletes both copies (the Redis copy first).
[[nodiscard]] Outcome<ResetOutcome> reset(const Place& place, const CheckpointKey& key, const ResetRequest& request);

// A consumer group as Redis describes it, with each member's checkpoint.
struct GroupState {
  std::string name{};
  StreamId last_delivered{};                    // last-delivered-id
  std::uint64_t pending = 0;                    // entries delivered and not XACKed, all members
  std::uint64_t consumers = 0;                  // members
  std::optional<std::uint64_t> entries_read{};  // Redis 7; nullopt when Redis cannot tell
  std::optional<std::uint64_t> lag{};           // likewise
};

struct GroupMember {
  std::string name{};
  std::uint64_t pending = 0;  // its pending entries
  std::uint64_t idle_ms = 0;  // since it last read or claimed
  CheckpointCopy redis{};
  std::optional<CheckpointCopy> local{};  // nullopt: no data directory given
  // The stream's entries-added minus the newer copy's entries_seen: how far
  // behind the stream its checkpoint is; nullopt when no copy is valid or
  // Redis does not count (before 7).
  std::optional<std::uint64_t> lag{};
};

struct GroupDescription {
  StreamState stream{};
  GroupState group{};
  std::vector<GroupMember> members{};  // in XINFO CONSUMERS order
};

// The stream, the group and every member with its checkpoint copies; the
// local ones read from place.data_dir when it is not empty. Fails with
// errc::stream_missing, errc::no_group, and as inspect().
[[nodiscard]] Outcome<GroupDescription> describe_group(const Place& place, const std::string& stream,
                                                       const std::string& group);

}  // namespace streamckpt::admin
