// Gaps: entries deleted (trimmed or XDELed) before this consumer read them.
#pragma once

#include <streamckpt/report.hpp>

#include <cstdint>
#include <optional>

namespace streamckpt::detail {

// How many entries above `position` were deleted before this consumer read
// them, judged from the stream's state `s`.
//
// `accounted` is how many entries the stream had received up to `position`
// as far as this consumer knows: read, or already counted as lost. Trimming
// does not move max-deleted-entry-id, so a trim is seen by counting: once
// nothing at or below the position is left, the entries added but neither
// accounted for nor present were lost, exactly. Otherwise an XDEL above the
// position and above `xdel_counted` (an XDEL already counted) is at least one
// entry lost (1 is returned: the count is unknown), provided it lies below
// `last`, the last entry a read from `position` returned, when there is one:
// one beyond it may still be read past later.
//
// `covered_above`: a checkpoint above it lies past every entry counted lost
// (the position, or an XDELed entry within what the read returned).
struct Loss {
  std::uint64_t entries = 0;
  StreamId covered_above;
};
Loss entries_lost(StreamId position, std::uint64_t accounted, const StreamState& s,
                  std::optional<StreamId> last = std::nullopt, StreamId xdel_counted = StreamId::min());

}  // namespace streamckpt::detail
