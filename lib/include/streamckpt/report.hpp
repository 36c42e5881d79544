// What async_start() found and decided.
#pragma once

#include <streamckpt/checkpoint.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace streamckpt {

// The stream as XINFO STREAM described it at start-up.
struct StreamState {
  bool exists = false;
  std::uint64_t length = 0;
  StreamId last_generated;              // last-generated-id
  std::optional<StreamId> first_entry;  // none when empty
  StreamId max_deleted;                 // max-deleted-entry-id
  std::uint64_t entries_added = 0;      // entries-added
  // entries-added and max-deleted-entry-id were in the reply (Redis 7 and
  // later): the checks that rely on them apply.
  bool counts_known = false;
};

struct ResumeReport {
  enum class Source {
    local,             // the local copy was the higher valid one
    redis,             // the Redis copy was
    start_policy,      // no valid copy: --start decided
    regressed_policy,  // the stream went back behind a copy: --on-regressed decided
  };

  CheckpointCopy local;
  CheckpointCopy redis;
  StreamState stream;
  // Resume after this ID: every entry <= position counts as handled.
  StreamId position;
  Source source = Source::start_policy;
  // The stream went backwards behind a copy (Redis lost data, a failover to
  // a stale replica): the copy is beyond the stream's last-generated-id, has
  // seen more entries than the stream has had, or names an entry the stream
  // never had nor deleted. Such a copy is invalid.
  bool regressed = false;
  // The highest copy that the stream went back behind.
  std::optional<Checkpoint> regressed_from;
  // At least this many entries a copy had seen are gone from the stream
  // (its entries_seen above the stream's entries-added); unknown when the
  // stream went back behind a copy's ID, or lacks the entry it names.
  std::optional<std::uint64_t> regressed_entries;
  // The metadata the consumer resumes with, carried by its checkpoints until
  // an ack sets new: that of the newest copy by (epoch, ID), the one resumed
  // from or the one beyond the stream's end. The application's effects (say
  // a file's length) did not go back with a Redis that lost data. "" when
  // no copy was valid.
  std::string metadata;
  std::optional<std::uint64_t> gap;  // entries deleted before they were handled
  bool group_created = false;
  bool group_moved = false;  // XGROUP SETID moved it forward to the position
  // The position came from a policy, and the existing group had delivered
  // beyond it: reading continues after the group's last-delivered-id (the
  // group is shared; moving it back would hand its other consumers' entries
  // out again).
  std::optional<StreamId> group_ahead;
  bool local_reseeded = false;  // the local copy was behind and was rewritten
  bool redis_reseeded = false;  // the Redis copy was behind and was rewritten

  // When async_start() failed: the sentence that says what failed (the
  // server, the directory, Redis's own message); the rest of the report is
  // empty then. Empty on success.
  std::string failure;

  // The copy resumed from (source local or redis); nullptr when a policy
  // decided.
  const CheckpointCopy* winner() const;

  // One line for logs: "resuming stream 'orders' … after 5-0 (source: local) …".
  std::string describe() const;
};

const char* to_string(ResumeReport::Source source);

}  // namespace streamckpt
