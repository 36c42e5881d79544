// The ledger: the entries produced (numbered 1 … total, in order) against
// the numbers the CLI's sink wrote, summed up in one comparable sentence.
#pragma once

#include <string>
#include <vector>

namespace streamckpt::test {

// "each of the 400 entries exactly once, in order" when `handled` is 1 … total;
// otherwise what is wrong: missing, duplicated, unknown numbers, and the
// first place where the order breaks.
std::string exactly_once_in_order(const std::vector<int>& handled, int total);

// "no entry lost" when every number 1 … total is in `handled` (duplicates are
// allowed); otherwise the missing ones.
std::string none_lost(const std::vector<int>& handled, int total);

inline constexpr const char* k_exactly_once = "exactly once, in order";

inline bool mentions(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// How often `needle` occurs in `haystack`.
int occurrences(const std::string& haystack, const std::string& needle);

// The lines of `text` that contain `needle`.
std::vector<std::string> lines_with(const std::string& text, const std::string& needle);

}  // namespace streamckpt::test
