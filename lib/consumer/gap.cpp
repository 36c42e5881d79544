#include "consumer/gap.hpp"

#include <algorithm>

namespace streamckpt::detail {

std::uint64_t entries_lost(StreamId position, std::uint64_t accounted, const StreamState& s,
                           std::optional<StreamId> last, StreamId xdel_counted) {
  if (!s.exists) return 0;
  const bool nothing_below = !s.first_entry || *s.first_entry > position;
  const auto gone = s.entries_added >= s.length ? s.entries_added - s.length : 0;
  if (nothing_below) return gone > accounted ? gone - accounted : 0;
  const bool xdel = s.max_deleted > std::max(position, xdel_counted) && (!last || s.max_deleted < *last);
  return xdel ? 1 : 0;
}

}  // namespace streamckpt::detail
