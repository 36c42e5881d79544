#include "local/committer.hpp"

#include <algorithm>

namespace streamckpt::detail {

Committer::Committer(LocalStore& store) : store_(store), thread_([this] { run(); }) {}

Committer::~Committer() { finish(); }

void Committer::finish() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Committer::submit(Job job) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
}

bool Committer::stalled() const {
  const auto started = write_started_ns_.load(std::memory_order_relaxed);
  if (started == 0) return false;
  const auto now = std::chrono::steady_clock::now().time_since_epoch();
  const auto running = std::chrono::duration_cast<std::chrono::microseconds>(now - std::chrono::nanoseconds{started});
  return running.count() > stall_limit_us_.load(std::memory_order_relaxed);
}

std::uint64_t Committer::writes() const {
  std::lock_guard lock(mutex_);
  return writes_;
}

Committer::WriteTimes Committer::write_times() const {
  std::lock_guard lock(mutex_);
  // A quantile is its bucket's upper edge; the maximum is exact.
  return {std::min(write_times_.quantile(0.50), longest_write_us_),
          std::min(write_times_.quantile(0.99), longest_write_us_), longest_write_us_};
}

void Committer::run() {
  for (;;) {
    std::deque<Job> jobs;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to write
      jobs.swap(queue_);
    }

    boost::system::error_code ec;
    std::string detail;
    const bool retry = std::any_of(jobs.begin(), jobs.end(), [](const Job& j) { return j.retry; });
    if (failure_ && !retry) {
      for (auto& job : jobs)
        if (job.done) job.done(failure_, failure_detail_);
      continue;
    }
    const auto start = std::chrono::steady_clock::now();
    write_started_ns_.store(std::chrono::duration_cast<std::chrono::nanoseconds>(start.time_since_epoch()).count(),
                            std::memory_order_relaxed);
    failure_.clear();
    const bool reopen = std::any_of(jobs.begin(), jobs.end(), [](const Job& j) { return j.reopen_first; });
    if (reopen) ec = store_.reopen(&detail);

    if (!ec) {
      std::vector<Checkpoint> checkpoints;
      std::vector<LocalStore::Unacked> unacked;
      rocksdb::WriteBatch extra;
      for (auto& job : jobs) {
        for (auto& c : job.checkpoints) checkpoints.push_back(std::move(c));
        for (auto& u : job.unacked) unacked.push_back(std::move(u));  // in order: a later list replaces an earlier
        for (const auto& e : job.extras)
          if (e && !ec) ec = store_.append(extra, *e);
      }
      if (!ec) ec = store_.commit(checkpoints, &extra, &detail, unacked);
    }
    write_started_ns_.store(0, std::memory_order_relaxed);
    if (ec) {
      failure_ = ec;
      failure_detail_ = detail;
    } else {
      // The write and its sync (and a reopen before it), once per write
      // however many jobs it carried.
      const auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
      const auto took_us = static_cast<std::uint64_t>(took.count());
      {
        std::lock_guard lock(mutex_);
        ++writes_;
        write_times_.record(took_us);
        longest_write_us_ = std::max(longest_write_us_, took_us);
      }
      stall_limit_.record(took);
      stall_limit_us_.store(stall_limit_.limit().count(), std::memory_order_relaxed);
    }
    for (auto& job : jobs)
      if (job.done) job.done(ec, detail);
  }
}

}  // namespace streamckpt::detail
