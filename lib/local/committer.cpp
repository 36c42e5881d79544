#include "local/committer.hpp"

#include <rocksdb/write_batch.h>

#include <algorithm>
#include <set>

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
    ++outstanding_[job.client];
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
}

std::uint64_t Committer::add_client() {
  std::lock_guard lock(mutex_);
  return next_client_++;
}

void Committer::drain(std::uint64_t client) {
  std::unique_lock lock(mutex_);
  drained_.wait(lock, [&] { return !outstanding_.contains(client); });
}

bool Committer::stalled() const {
  const auto started = write_started_ns_.load(std::memory_order_relaxed);
  if (started == 0) return false;
  const auto now = std::chrono::steady_clock::now().time_since_epoch();
  const auto running = std::chrono::duration_cast<std::chrono::microseconds>(now - std::chrono::nanoseconds{started});
  return running.count() > stall_limit_us_.load(std::memory_order_relaxed);
}

void Committer::wake_at_write_end(std::uint64_t client, std::function<void()> wake) {
  std::lock_guard lock(mutex_);
  wakes_[client] = std::move(wake);
}

void Committer::forget_wake(std::uint64_t client) {
  std::lock_guard lock(mutex_);
  wakes_.erase(client);
}

std::uint64_t Committer::writes() const {
  std::lock_guard lock(mutex_);
  return writes_;
}

std::uint64_t Committer::writes(std::uint64_t client) const {
  std::lock_guard lock(mutex_);
  const auto it = client_writes_.find(client);
  return it == client_writes_.end() ? 0 : it->second;
}

Committer::WriteTimes Committer::write_times() const {
  std::lock_guard lock(mutex_);
  // A quantile is its bucket's upper edge; the maximum is exact.
  return {std::min(write_times_.quantile(0.50), longest_write_us_),
          std::min(write_times_.quantile(0.99), longest_write_us_), longest_write_us_};
}

void Committer::run() {
  for (;;) {
    std::deque<Job> queued;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to write
      queued.swap(queue_);
    }

    // A client's job behind its failure fails too, unless the client retries
    // now; the other clients' jobs are written.
    std::set<std::uint64_t> retrying;
    for (const auto& job : queued)
      if (job.retry) retrying.insert(job.client);
    for (const auto client : retrying) failures_.erase(client);
    std::vector<Job> refused, jobs;
    for (auto& job : queued) (failures_.contains(job.client) ? refused : jobs).push_back(std::move(job));
    for (auto& job : refused) {
      const auto& failure = failures_.at(job.client);
      if (job.done) job.done(failure.ec, failure.detail);
    }
    finished(refused);
    if (!jobs.empty()) write(jobs);
    finished(jobs);
  }
}

void Committer::write(std::vector<Job>& jobs) {
  boost::system::error_code ec;
  std::string detail;
  const auto start = std::chrono::steady_clock::now();
  write_started_ns_.store(std::chrono::duration_cast<std::chrono::nanoseconds>(start.time_since_epoch()).count(),
                          std::memory_order_relaxed);
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
  {
    // Under the lock, after write_started_ns_ is cleared: a client that
    // registers later sees stalled() false; one that registered earlier is
    // woken, and not after forget_wake() returned.
    std::lock_guard lock(mutex_);
    for (auto& [client, wake] : wakes_) wake();
    wakes_.clear();
  }
  if (ec) {
    for (const auto& job : jobs) failures_[job.client] = Failure{ec, detail};
  } else {
    // The write and its sync (and a reopen before it), once per write
    // however many jobs it carried.
    const auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    const auto took_us = static_cast<std::uint64_t>(took.count());
    {
      std::lock_guard lock(mutex_);
      ++writes_;
      std::set<std::uint64_t> clients;
      for (const auto& job : jobs) clients.insert(job.client);
      for (const auto client : clients) ++client_writes_[client];
      write_times_.record(took_us);
      longest_write_us_ = std::max(longest_write_us_, took_us);
    }
    stall_limit_.record(took);
    stall_limit_us_.store(stall_limit_.limit().count(), std::memory_order_relaxed);
  }
  for (auto& job : jobs)
    if (job.done) job.done(ec, detail);
}

// After their completions: drain() returns once none of a client's is left.
void Committer::finished(const std::vector<Job>& jobs) {
  if (jobs.empty()) return;
  {
    std::lock_guard lock(mutex_);
    for (const auto& job : jobs)
      if (auto it = outstanding_.find(job.client); it != outstanding_.end() && --it->second == 0)
        outstanding_.erase(it);
  }
  drained_.notify_all();
}

}  // namespace streamckpt::detail
