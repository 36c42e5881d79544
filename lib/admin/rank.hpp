// Which of a consumer's copies is the current checkpoint, as the admin calls
// judge it: the higher valid one by (epoch, ID).
#pragma once

#include <streamckpt/checkpoint.hpp>

namespace streamckpt::admin::detail {

// nullptr when neither is valid; `b` may be nullptr (a copy not read).
inline const Checkpoint* higher_valid(const CheckpointCopy& a, const CheckpointCopy* b) {
  const Checkpoint* best = a.valid() ? &*a.checkpoint : nullptr;
  if (b && b->valid() && (!best || b->checkpoint->rank() > best->rank())) best = &*b->checkpoint;
  return best;
}

}  // namespace streamckpt::admin::detail
