#include "consumer/pending_ledger.hpp"

#include <algorithm>

namespace streamckpt::detail {

void PendingLedger::load(const std::vector<StreamId>& ids) { loaded_.insert(ids.begin(), ids.end()); }

PendingLedger::Again PendingLedger::classify_again(StreamId id, bool outstanding) {
  if (loaded_.erase(id) || refused_.erase(id)) unxacked_.insert(id);
  if (unxacked_.count(id) || recently_xacked(id)) return Again::xack;
  if (outstanding || out_of_order_.count(id) || committing_.count(id)) return Again::in_flight;
  return Again::hand_out;
}

bool PendingLedger::known_handled(StreamId id) const {
  return unxacked_.count(id) || loaded_.count(id) || refused_.count(id);
}

bool PendingLedger::ack_out_of_order(StreamId id) {
  if (!out_of_order_.erase(id)) return false;
  committing_.insert(id);
  return true;
}

void PendingLedger::committing(const std::vector<StreamId>& ids) { committing_.insert(ids.begin(), ids.end()); }

void PendingLedger::durable(const std::vector<StreamId>& ids) {
  for (const auto id : ids) {
    committing_.erase(id);
    unxacked_.insert(id);
  }
}

void PendingLedger::xack_confirmed(StreamId id) {
  unxacked_.erase(id);
  if (recent_.size() < k_recent_xacks) {
    if (recent_.empty()) recent_.reserve(k_recent_xacks);
    recent_.push_back(id);
    return;
  }
  recent_[recent_next_] = id;
  recent_next_ = (recent_next_ + 1) % k_recent_xacks;
}

bool PendingLedger::recently_xacked(StreamId id) const {
  return std::find(recent_.begin(), recent_.end(), id) != recent_.end();
}

void PendingLedger::xack_refused(StreamId id) {
  if (unxacked_.erase(id)) refused_.insert(id);
  while (refused_.size() > k_max_refused) refused_.erase(refused_.begin());
}

std::vector<StreamId> PendingLedger::list() const {
  std::set<StreamId> all = unxacked_;
  all.insert(committing_.begin(), committing_.end());
  all.insert(loaded_.begin(), loaded_.end());
  all.insert(refused_.begin(), refused_.end());
  return {all.begin(), all.end()};
}

}  // namespace streamckpt::detail
