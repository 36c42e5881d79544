// Committer: the one thread that performs synced RocksDB writes.
//
// RocksDB calls block on fsync, so they never run on an io_context thread.
// Jobs submitted while a write is in progress are merged into the next write
// (group commit): one fsync covers all of them.
#pragma once

#include "core/latency.hpp"
#include "local/stall_limit.hpp"

#include <streamckpt/local_store.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
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
    std::vector<Checkpoint> checkpoints;
    // Application writes committed atomically with the checkpoints.
    std::vector<std::shared_ptr<const rocksdb::WriteBatch>> extras;
    // Each replaces its key's list (the latest job's wins).
    std::vector<LocalStore::Unacked> unacked;
    Completion done;
    bool reopen_first = false;  // reopen the DB before writing (after a WAL I/O error)
    // The first job after a failure. Until one comes, every job fails with the
    // failure's error: a job queued behind a failed one must not become durable
    // without the failed one's writes.
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

  // Number of successful synced writes (each is one fsync of the WAL).
  std::uint64_t writes() const;

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

 private:
  void run();

  LocalStore& store_;
  mutable std::mutex mutex_;  // guards queue_, stopping_, writes_ and the write times
  std::condition_variable wake_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::uint64_t writes_ = 0;
  LatencyHistogram write_times_;
  std::uint64_t longest_write_us_ = 0;
  StallLimit stall_limit_;  // committer thread only: fed every successful write's time
  std::atomic<std::int64_t> stall_limit_us_{StallLimit::k_initial.count()};  // its limit, for stalled()
  std::atomic<std::int64_t> write_started_ns_{0};                            // steady_clock; 0 while not writing
  // Committer thread only: the last write failed, and no retry came yet.
  boost::system::error_code failure_;
  std::string failure_detail_;
  std::thread thread_;
};

}  // namespace streamckpt::detail
