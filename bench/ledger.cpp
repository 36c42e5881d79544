#include "ledger.hpp"

#include <charconv>

namespace streamckpt::bench {

std::optional<std::uint64_t> parse_seq(std::string_view text) {
  std::uint64_t v = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc{} || ptr != end) return std::nullopt;
  return v;
}

void Ledger::record(std::optional<std::uint64_t> seq) {
  ++handled_;
  if (!seq || *seq >= seen_.size()) {
    ++foreign_;
    return;
  }
  if (seen_[*seq]) {
    ++duplicates_;
    return;
  }
  seen_[*seq] = true;
  ++distinct_;
  if (max_ && *seq < *max_) ++out_of_order_;
  if (!max_ || *seq > *max_) max_ = *seq;
}

}  // namespace streamckpt::bench
