// StallLimit (sans-io): how long an acked event may wait for its sync before
// next() stops handing out more.
//
// Group commit lets the application run on while a sync is in progress, and
// everything it acks meanwhile waits for that sync. A sync that stalls for
// milliseconds would make a crowd of events wait for it; pausing the hand-out
// as soon as a sync runs long makes only the events acked before the pause
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

  // In steady state an ack waits for the write in progress and then its own:
  // up to two write times. The limit leaves room above that.
  static constexpr int k_multiple = 4;
  // Never below this: the executor sees a finished commit only between two
  // batches of the application's work.
  static constexpr duration k_floor{1000};
  // Until the first window of commits is measured.
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
