// Exponential backoff with full jitter (sans-io): the n-th delay is uniform in
// [0, min(cap, initial * 2^n)].
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace streamckpt::detail {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds cap, std::uint64_t seed = std::random_device{}())
      : initial_(initial), cap_(cap), rng_(seed) {}

  std::chrono::milliseconds next() {
    auto ceiling = initial_.count() << std::min<unsigned>(attempt_, 20);
    if (ceiling > cap_.count()) ceiling = cap_.count();
    ++attempt_;
    std::uniform_int_distribution<long long> pick(0, ceiling);
    return std::chrono::milliseconds(pick(rng_));
  }
  void reset() { attempt_ = 0; }
  unsigned attempts() const { return attempt_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds cap_;
  std::mt19937_64 rng_;
  unsigned attempt_ = 0;
};

}  // namespace streamckpt::detail
