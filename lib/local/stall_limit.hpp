// StallLimit (sans-io): how long a synced write may run before next() stops
// handing out events.
//
// Group commit lets the application run on while a write is in progress, and
// everything it acks meanwhile waits for that write. A write that stalls for
// milliseconds would make a crowd of events wait for it; pausing the hand-out
// as soon as a write runs long makes only the events acked before the pause
// wait. "Long" is relative to this disk: a few times the median time of its
// synced writes (one window of 32, replaced when the next is full), so that a
// slow disk is not mistaken for a stalled one.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>

namespace streamckpt::detail {

class StallLimit {
 public:
  using duration = std::chrono::microseconds;

  static constexpr int k_multiple = 4;
  // Never below this: a pause costs the application a whole write, and a
  // write this short is no stall.
  static constexpr duration k_floor{1000};
  // Until the first window of writes is measured.
  static constexpr duration k_initial{10000};
  static constexpr std::size_t k_window = 32;

  // One synced write's time (once per write, however many commits it carried).
  void record(duration write_time) {
    window_[filled_++] = write_time;
    if (filled_ < k_window) return;
    filled_ = 0;
    auto sorted = window_;
    std::nth_element(sorted.begin(), sorted.begin() + k_window / 2, sorted.end());
    limit_ = std::max(k_floor, k_multiple * sorted[k_window / 2]);
  }

  duration limit() const { return limit_; }

 private:
  std::array<duration, k_window> window_{};
  std::size_t filled_ = 0;
  duration limit_ = k_initial;
};

}  // namespace streamckpt::detail
