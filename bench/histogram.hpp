// Latency percentiles: a log-linear histogram in fixed memory (30 KiB) for
// per-event samples, so that measuring does not inflate the peak RSS it
// reports; and exact percentiles for a few hundred samples.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

namespace streamckpt::bench {

// Values below 128 are exact; above, 64 buckets per power of two (<= 1.6%
// relative error). quantile() returns the bucket's upper bound.
class Histogram {
 public:
  void record(std::uint64_t v) {
    ++buckets_[index(v)];
    ++count_;
  }
  void record_n(std::uint64_t v, std::uint64_t n) {
    buckets_[index(v)] += n;
    count_ += n;
  }
  std::uint64_t count() const { return count_; }
  // Nearest rank: the smallest value with at least q of the samples at or
  // below it. 0 when empty.
  std::uint64_t quantile(double q) const {
    if (count_ == 0) return 0;
    auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
    rank = std::clamp<std::uint64_t>(rank, 1, count_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen >= rank) return upper(i);
    }
    return upper(buckets_.size() - 1);
  }

 private:
  static constexpr std::size_t k_exact = 128;
  static constexpr std::size_t k_sub = 64;
  static constexpr std::size_t k_buckets = k_exact + (64 - 7) * k_sub;

  static std::size_t index(std::uint64_t v) {
    if (v < k_exact) return static_cast<std::size_t>(v);
    const auto width = static_cast<std::size_t>(std::bit_width(v));  // >= 8
    const auto shift = width - 7;
    return k_exact + (width - 8) * k_sub + static_cast<std::size_t>((v >> shift) - k_sub);
  }
  static std::uint64_t upper(std::size_t i) {
    if (i < k_exact) return i;
    const auto width = (i - k_exact) / k_sub + 8;
    const auto sub = (i - k_exact) % k_sub + k_sub;
    const auto shift = width - 7;
    return ((static_cast<std::uint64_t>(sub) + 1) << shift) - 1;
  }

  std::array<std::uint64_t, k_buckets> buckets_{};
  std::uint64_t count_ = 0;
};

// Nearest-rank percentile of exact samples; 0 when empty.
inline double percentile(std::vector<double> samples, double q) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(samples.size())));
  rank = std::clamp<std::size_t>(rank, 1, samples.size());
  return samples[rank - 1];
}

}  // namespace streamckpt::bench
