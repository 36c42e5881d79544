// StreamId: a Redis stream entry ID, "<ms>-<seq>", two unsigned 64-bit numbers.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace streamckpt {

class StreamId {
 public:
  static constexpr std::size_t k_max_text_length = 41;  // 20 digits, '-', 20 digits

  constexpr StreamId() noexcept = default;
  constexpr StreamId(std::uint64_t ms, std::uint64_t seq) noexcept : ms_(ms), seq_(seq) {}

  // Parses the complete canonical form "<ms>-<seq>" only: decimal digits, no
  // sign, no leading zeros (except "0" itself), no spaces, no overflow, at most
  // 41 characters. Returns nullopt for anything else, including the special
  // forms "-", "+", "$", ">" and "*" and the incomplete form "<ms>".
  [[nodiscard]] static std::optional<StreamId> parse(std::string_view text) noexcept;

  // Like parse(), and also accepts "<ms>" alone, meaning "<ms>-0" — the only
  // incomplete form Redis accepts as the start of a range.
  [[nodiscard]] static std::optional<StreamId> parse_range_start(std::string_view text) noexcept;

  static constexpr StreamId min() noexcept { return {0, 0}; }
  static constexpr StreamId max() noexcept { return {UINT64_MAX, UINT64_MAX}; }

  constexpr std::uint64_t ms() const noexcept { return ms_; }
  constexpr std::uint64_t seq() const noexcept { return seq_; }
  constexpr bool is_zero() const noexcept { return ms_ == 0 && seq_ == 0; }

  // The smallest ID greater than this one. REQUIRES: *this != max().
  constexpr StreamId next() const noexcept {
    return seq_ == UINT64_MAX ? StreamId{ms_ + 1, 0} : StreamId{ms_, seq_ + 1};
  }

  std::string to_string() const;
  // The ID as two zero-padded 20-digit numbers: byte order equals ID order.
  std::string to_padded() const;

  constexpr auto operator<=>(const StreamId&) const noexcept = default;

 private:
  std::uint64_t ms_ = 0;
  std::uint64_t seq_ = 0;
};

}  // namespace streamckpt
