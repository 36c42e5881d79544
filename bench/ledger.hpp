// The produced ledger, checked: entry i of the stream carries seq=i (0-based);
// a scenario must handle every entry exactly once and in order.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace streamckpt::bench {

// The field names every produced entry has, in this order.
inline constexpr std::string_view k_seq_field = "seq";
inline constexpr std::string_view k_payload_field = "payload";

// "123" -> 123; nullopt for anything else.
std::optional<std::uint64_t> parse_seq(std::string_view text);

class Ledger {
 public:
  explicit Ledger(std::uint64_t expected) : seen_(expected, false) {}

  // One handled entry; nullopt: it carried no valid seq.
  void record(std::optional<std::uint64_t> seq);

  std::uint64_t handled() const { return handled_; }
  std::uint64_t distinct() const { return distinct_; }
  bool complete() const { return distinct_ == seen_.size(); }
  std::uint64_t lost() const { return seen_.size() - distinct_; }
  std::uint64_t duplicates() const { return duplicates_; }
  // Entries handled after one with a higher seq (first sight only).
  std::uint64_t out_of_order() const { return out_of_order_; }
  // Entries whose seq is missing, malformed or beyond the ledger.
  std::uint64_t foreign() const { return foreign_; }
  std::optional<std::uint64_t> max_seq() const { return max_; }

 private:
  std::vector<bool> seen_;  // one bit per produced entry
  std::uint64_t handled_ = 0, distinct_ = 0, duplicates_ = 0, out_of_order_ = 0, foreign_ = 0;
  std::optional<std::uint64_t> max_;
};

}  // namespace streamckpt::bench
