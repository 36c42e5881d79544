#include <streamckpt/stream_id.hpp>

#include <fmt/format.h>

#include <charconv>

namespace streamckpt {
namespace {

// Canonical unsigned decimal: non-empty, digits only, no leading zero unless it
// is "0", and no overflow.
std::optional<std::uint64_t> parse_u64(std::string_view text) noexcept {
  if (text.empty() || text.size() > 20) return std::nullopt;
  if (text.size() > 1 && text.front() == '0') return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

}  // namespace

std::optional<StreamId> StreamId::parse(std::string_view text) noexcept {
  if (text.size() > k_max_text_length) return std::nullopt;
  const auto dash = text.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const auto ms = parse_u64(text.substr(0, dash));
  const auto seq = parse_u64(text.substr(dash + 1));
  if (!ms || !seq) return std::nullopt;
  return StreamId{*ms, *seq};
}

std::optional<StreamId> StreamId::parse_range_start(std::string_view text) noexcept {
  if (text.find('-') == std::string_view::npos) {
    if (const auto ms = parse_u64(text)) return StreamId{*ms, 0};
    return std::nullopt;
  }
  return parse(text);
}

std::string StreamId::to_string() const {
  char ms[20], seq[20];  // UINT64_MAX has 20 digits
  const auto* ms_end = std::to_chars(ms, ms + sizeof ms, ms_).ptr;
  const auto* seq_end = std::to_chars(seq, seq + sizeof seq, seq_).ptr;
  std::string out;
  out.reserve(static_cast<std::size_t>((ms_end - ms) + 1 + (seq_end - seq)));
  out.append(ms, static_cast<std::size_t>(ms_end - ms));
  out.push_back('-');
  out.append(seq, static_cast<std::size_t>(seq_end - seq));
  return out;
}

std::string StreamId::to_padded() const { return fmt::format("{:020}-{:020}", ms_, seq_); }

}  // namespace streamckpt
