// A log-bucketed latency histogram (sans-io): 1 µs to ~1 min with ~6% error,
// fixed memory.
#pragma once

#include <streamckpt/metrics.hpp>

#include <array>
#include <cmath>
#include <cstdint>

namespace streamckpt::detail {

class LatencyHistogram {
 public:
  void record(std::uint64_t us) {
    ++buckets_[bucket(us)];
    ++count_;
    sum_ += us;
    for (std::size_t i = 0; i < fixed_.size(); ++i)
      if (us <= k_ack_to_durable_bounds_us[i]) ++fixed_[i];
  }
  // The value below which `q` (0..1) of the samples fall; 0 when empty.
  std::uint64_t quantile(double q) const {
    if (count_ == 0) return 0;
    const auto target = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen >= target && buckets_[i] > 0) return upper(i);
    }
    return upper(buckets_.size() - 1);
  }
  std::uint64_t count() const { return count_; }
  std::uint64_t sum() const { return sum_; }
  // Cumulative counts at k_ack_to_durable_bounds_us, exact.
  const std::array<std::uint64_t, k_ack_to_durable_bounds_us.size()>& fixed_buckets() const { return fixed_; }

 private:
  static constexpr double k_growth = 1.06;
  static constexpr std::size_t k_buckets = 320;  // 1.06^320 µs > 10^8 µs
  static std::size_t bucket(std::uint64_t us) {
    if (us <= 1) return 0;
    const auto b = static_cast<std::size_t>(std::log(static_cast<double>(us)) / std::log(k_growth));
    return b < k_buckets ? b : k_buckets - 1;
  }
  static std::uint64_t upper(std::size_t b) {
    return static_cast<std::uint64_t>(std::pow(k_growth, static_cast<double>(b + 1)));
  }

  std::array<std::uint64_t, k_buckets> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::array<std::uint64_t, k_ack_to_durable_bounds_us.size()> fixed_{};
};

}  // namespace streamckpt::detail
