#include "consumer/commit_pipeline.hpp"

#include <streamckpt/error.hpp>

#include <utility>

namespace streamckpt::detail {

void Staged::merge(Staged&& later) {
  to = later.to;
  ids.insert(ids.end(), later.ids.begin(), later.ids.end());
  for (auto& e : later.effects) effects.push_back(std::move(e));
  metadata = std::move(later.metadata);
  entries_seen = later.entries_seen;
}

void CommitPipeline::stage(Staged acks) {
  uncommitted_ += acks.ids.size();
  if (staged_)
    staged_->merge(std::move(acks));
  else
    staged_ = std::move(acks);
}

std::optional<CommitPipeline::Submission> CommitPipeline::take_submission() {
  if (in_flight_ >= k_max_in_flight || waiting_retry_ || !failed_.empty() || !staged_) return std::nullopt;
  Submission s{std::move(*staged_), std::exchange(reopen_next_, false), std::exchange(retry_next_, false)};
  staged_.reset();
  ++in_flight_;
  return s;
}

CommitPipeline::Outcome CommitPipeline::on_done(boost::system::error_code ec, Staged job) {
  --in_flight_;
  Outcome out;
  // A success behind a failure cannot be taken as one: the failed job before
  // it is not on disk, and the checkpoint only covers what lies below.
  if (ec || !failed_.empty()) {
    if (failed_.empty()) {
      out.first_failure = true;
      // RocksDB refuses writes after a WAL I/O error until it is reopened; a
      // reopen that failed leaves the store closed.
      reopen_next_ = ec == errc::store_io || ec == errc::store_closed;
      waiting_retry_ = true;
      out.retry_after = backoff_.next();
    }
    failed_.push_back(std::move(job));
    if (in_flight_ > 0) return out;
    Staged merged = std::move(failed_.front());
    for (std::size_t i = 1; i < failed_.size(); ++i) merged.merge(std::move(failed_[i]));
    failed_.clear();
    if (staged_) merged.merge(std::move(*staged_));
    staged_ = std::move(merged);
    retry_next_ = true;
    out.merged = true;
    return out;
  }
  backoff_.reset();
  durable_ = job.to;
  uncommitted_ -= job.ids.size();
  out.durable = std::move(job);
  return out;
}

}  // namespace streamckpt::detail
