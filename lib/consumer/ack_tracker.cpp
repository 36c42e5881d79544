#include "consumer/ack_tracker.hpp"

#include <algorithm>

namespace streamckpt::detail {

void AckTracker::deliver(StreamId id) {
  slots_.push_back(Slot{id, false, nullptr, std::nullopt});
  last_delivered_ = id;
}

AckTracker::AckResult AckTracker::ack(StreamId id, std::shared_ptr<const rocksdb::WriteBatch> effects,
                                      std::optional<std::string> metadata) {
  const auto it =
      std::lower_bound(slots_.begin(), slots_.end(), id, [](const Slot& s, StreamId v) { return s.id < v; });
  if (it == slots_.end() || it->id != id) return AckResult::unknown;
  if (it->acked) return AckResult::duplicate;
  it->acked = true;
  it->effects = std::move(effects);
  it->metadata = std::move(metadata);
  return AckResult::accepted;
}

std::optional<AckTracker::Advance> AckTracker::take_advance() {
  if (slots_.empty() || !slots_.front().acked) return std::nullopt;
  Advance adv;
  while (!slots_.empty() && slots_.front().acked) {
    auto& s = slots_.front();
    adv.to = s.id;
    adv.ids.push_back(s.id);
    if (s.effects) adv.effects.push_back(std::move(s.effects));
    if (s.metadata) adv.metadata = std::move(s.metadata);
    slots_.pop_front();
  }
  return adv;
}

bool AckTracker::was_delivered_outstanding(StreamId id) const {
  return std::binary_search(slots_.begin(), slots_.end(), id, [](const auto& a, const auto& b) {
    if constexpr (std::is_same_v<std::decay_t<decltype(a)>, Slot>)
      return a.id < b;
    else
      return a < b.id;
  });
}

}  // namespace streamckpt::detail
