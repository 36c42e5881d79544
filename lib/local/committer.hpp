// Committer: the one thread that performs a store's synced RocksDB writes.
//
// RocksDB calls block on fsync, so they never run on an io_context thread.
// Jobs submitted while a write is in progress are merged into the next write
// (group commit): one fsync covers all of them, whichever consumer (client)
// each came from. A failure is kept per client: it fails that client's later
// jobs until its retry, never another client's.
#pragma once

#include "core/latency.hpp"
#include "local/stall_limit.hpp"

#include <streamckpt/local_store.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace streamckpt::detail {

class Committer {
 public:
  // Called on the committer thread once the write is durable (success) or has
  // failed. It must not block: post the result to your own executor.
  using Completion = std::function<void(boost::system::error_code, const std::string& detail)>;

  struct Job {
    std::uint64_t client = 0;  // from add_client(); 0 for a store's direct use
    std::vector<Checkpoint> checkpoints;
    // Application writes committed atomically with the checkpoints.
    std::vector<std::shared_ptr<const rocksdb::WriteBatch>> extras;
    // Each replaces its key's list (the latest job's wins).
    std::vector<LocalStore::Unacked> unacked;
    Completion done;
    bool reopen_first = false;  // reopen the DB before writing (after a WAL I/O error)
    // The first job after a failure. Until one comes, every job of the same
    // client fails with the failure's error: a job queued behind a failed one
    // must not become durable without the failed one's writes.
    bool retry = false;
  };

  // REQUIRES: store outlives the committer.
  explicit Committer(LocalStore& store);
  // Finishes the queued jobs, then joins the thread.
  ~Committer();
  // The same, ahead of destruction; submit() must not follow. Idempotent.
  void finish();
  Committer(const Committer&) = delete;
  Committer& operator=(const Committer&) = delete;

  // Thread-safe.
  void submit(Job job);

  // A new client ID for Job::client. Thread-safe.
  std::uint64_t add_client();
  // Blocks until every job `client` submitted is written or failed (its
  // completion called). Thread-safe; not from a completion.
  void drain(std::uint64_t client);

  // Number of successful synced writes (each is one fsync of the WAL).
  std::uint64_t writes() const;
  // ... that carried at least one job of `client`.
  std::uint64_t writes(std::uint64_t client) const;

  // How long the successful synced writes took, from the start of the
  // WriteBatch to the end of its WAL sync (and a reopen before it): the
  // disk's latency as this consumer meets it. Thread-safe.
  struct WriteTimes {
    std::uint64_t p50_us = 0, p99_us = 0, max_us = 0;
  };
  WriteTimes write_times() const;

  // The synced write in progress has run longer than StallLimit allows for
  // this store's writes. Thread-safe.
  bool stalled() const;

  // Calls `wake` once, on the committer thread, when the write in progress
  // (or, when none is, the next one) ends, whichever clients' jobs it
  // carried: a client held back by a stalled write that carries none of its
  // own jobs hears of its end too. Replaces the client's earlier wake. Check
  // stalled() again after this call: a write that ended just before it
  // calls `wake` only at the end of the next one. `wake` must not block.
  // Thread-safe.
  void wake_at_write_end(std::uint64_t client, std::function<void()> wake);
  // Drops the client's wake; once this returns it is not called. Thread-safe.
  void forget_wake(std::uint64_t client);

 private:
  void run();

  void write(std::vector<Job>& jobs);
  void finished(const std::vector<Job>& jobs);

  struct Failure {
    boost::system::error_code ec;
    std::string detail;
  };

  LocalStore& store_;
  // Guards queue_, stopping_, the counts, the write times and wakes_.
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable drained_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::uint64_t next_client_ = 1;
  std::map<std::uint64_t, std::size_t> outstanding_;  // per client: submitted, not yet completed
  std::map<std::uint64_t, std::uint64_t> client_writes_;
  std::map<std::uint64_t, std::function<void()>> wakes_;  // called, and cleared, as a write ends
  std::uint64_t writes_ = 0;
  LatencyHistogram write_times_;
  std::uint64_t longest_write_us_ = 0;
  StallLimit stall_limit_;  // committer thread only: fed every successful write's time
  std::atomic<std::int64_t> stall_limit_us_{StallLimit::k_initial.count()};  // its limit, for stalled()
  std::atomic<std::int64_t> write_started_ns_{0};                            // steady_clock; 0 while not writing
  // Committer thread only: per client, its last write failed and no retry
  // came yet.
  std::map<std::uint64_t, Failure> failures_;
  std::thread thread_;
};

}  // namespace streamckpt::detail
