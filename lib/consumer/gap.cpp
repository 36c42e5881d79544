#include "consumer/gap.hpp"

namespace streamckpt::detail {

Loss entries_lost(StreamId position, std::uint64_t accounted, const StreamState& s, std::optional<StreamId> last,
                  StreamId xdel_counted) {
  if (!s.exists) return {0, position};
  const bool xdel_read_past = s.max_deleted > position && (!last || s.max_deleted < *last);
  const Loss none{0, position};
  const auto at = xdel_read_past ? s.max_deleted : position;
  const bool nothing_below = !s.first_entry || *s.first_entry > position;
  const auto gone = s.entries_added >= s.length ? s.entries_added - s.length : 0;
  if (nothing_below) return gone > accounted ? Loss{gone - accounted, at} : none;
  return xdel_read_past && s.max_deleted > xdel_counted ? Loss{1, at} : none;
}

}  // namespace streamckpt::detail
