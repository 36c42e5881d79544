// The local commit path as a machine with no I/O: events in (acks staged, a
// write submitted, done or failed, the retry's backoff over), actions out (the
// write to submit, the retry to schedule, what has become durable). The
// consumer executes the actions: it hands the write to the committer, waits
// the backoff, and only for what on_done() reports durable does it XACK and
// write the Redis copy. Its unit tests are tests/unit/commit_pipeline_test.cpp.
//
// The rules it keeps:
// - acks staged while writes are in flight go out together, as one job, in
//   the next submission; at most k_max_in_flight jobs are in flight;
// - a job is durable only when its write succeeded, and jobs become durable
//   in the order they were submitted (the committer writes in order);
// - the committer fails every job queued behind a failed one: once a write
//   fails, nothing is submitted until every job in flight has come back, then
//   they are merged, in order, in front of what was staged meanwhile, and
//   that one job is retried after a backoff (reopening the store first after
//   an I/O error, which RocksDB requires).
#pragma once

#include "redis/backoff.hpp"

#include <streamckpt/checkpoint.hpp>
#include <streamckpt/stream_id.hpp>

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rocksdb {
class WriteBatch;
}

namespace streamckpt::detail {

// Acks on their way to disk: the checkpoint they move to and what they carry.
struct Staged {
  StreamId to;
  std::vector<StreamId> ids;
  std::vector<std::shared_ptr<const rocksdb::WriteBatch>> effects;
  std::string metadata;
  std::uint64_t entries_seen = 0;
  std::chrono::steady_clock::time_point since;  // its first ack
  std::uint64_t updated_ms = 0;                 // stamped when handed to the committer

  Checkpoint checkpoint(const CheckpointKey& key, std::uint64_t epoch) const {
    return Checkpoint{key, to, epoch, updated_ms, metadata, entries_seen};
  }
  // Appends `later`: the result covers both, in order, and carries the later
  // one's checkpoint (its `since` stays the earlier's).
  void merge(Staged&& later);
};

class CommitPipeline {
 public:
  static constexpr int k_max_in_flight = 64;

  CommitPipeline(std::chrono::milliseconds backoff_initial, std::chrono::milliseconds backoff_cap,
                 std::uint64_t seed = std::random_device{}())
      : backoff_(backoff_initial, backoff_cap, seed) {}

  // Start-up decided the position: it is durable already.
  void start_at(StreamId position) { durable_ = position; }

  // Acks: joined to the job being staged (created from them when there is
  // none). `acks.to` is the checkpoint they move to: for acks that do not
  // move it, the current one.
  void stage(Staged acks);

  // A write to hand to the committer.
  struct Submission {
    Staged job;
    bool reopen_first = false;  // the store failed with an I/O error: reopen it, then write
    bool retry = false;         // a failed job again: the committer's own retry counting
  };
  // The staged job, when one may go now: not while a retry is due or failed
  // jobs wait for the rest in flight, nor beyond k_max_in_flight.
  std::optional<Submission> take_submission();

  // What came back from the committer, and what it asks of the consumer.
  struct Outcome {
    // Written: everything up to durable->to is on disk. Only now may its IDs
    // be XACKed and its checkpoint be written to Redis.
    std::optional<Staged> durable;
    // The first failure since the last success: count and log it, and call
    // on_retry_due() after `retry_after`.
    bool first_failure = false;
    std::chrono::milliseconds retry_after{0};
    // Every job in flight has failed: they are staged again as one job, in
    // front of what came since, to be submitted once the retry is due.
    bool merged = false;
  };
  Outcome on_done(boost::system::error_code ec, Staged job);
  // The backoff after a failure is over: submissions may go again.
  void on_retry_due() { waiting_retry_ = false; }

  StreamId durable() const { return durable_; }
  // Acked events not yet durable (staged, in flight, or failed).
  std::size_t uncommitted() const { return uncommitted_; }
  // A failure's retry is not yet due: reading pauses meanwhile.
  bool retry_pending() const { return waiting_retry_; }
  // Nothing staged, in flight, failed or waiting: every ack is durable.
  bool idle() const { return in_flight_ == 0 && !staged_ && !waiting_retry_ && failed_.empty(); }
  int in_flight() const { return in_flight_; }
  const std::optional<Staged>& staged() const { return staged_; }

 private:
  StreamId durable_;
  std::optional<Staged> staged_;
  int in_flight_ = 0;
  std::vector<Staged> failed_;  // failed, waiting for the rest in flight to fail too
  bool waiting_retry_ = false;
  bool reopen_next_ = false;
  bool retry_next_ = false;
  std::size_t uncommitted_ = 0;
  Backoff backoff_;
};

}  // namespace streamckpt::detail
