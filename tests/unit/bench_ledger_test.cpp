// streamckpt-bench's ledger: what decides that a scenario handled every
// produced entry exactly once and in order.
#include "ledger.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>

// A failed check shows the parsed value, not "{?}".
template <typename T>
struct doctest::StringMaker<std::optional<T>> {
  static doctest::String convert(const std::optional<T>& v) {
    return v ? doctest::toString(*v) : doctest::String("nullopt");
  }
};
template <>
struct doctest::StringMaker<std::nullopt_t> {
  static doctest::String convert(std::nullopt_t) { return "nullopt"; }
};

using streamckpt::bench::Ledger;
using streamckpt::bench::parse_seq;

namespace {

Ledger recorded(std::uint64_t expected, std::initializer_list<std::optional<std::uint64_t>> seqs) {
  Ledger ledger(expected);
  for (const auto& seq : seqs) ledger.record(seq);
  return ledger;
}

}  // namespace

TEST_CASE("every entry handled once and in order is complete, with nothing lost, repeated or reordered") {
  const auto l = recorded(5, {0, 1, 2, 3, 4});
  CHECK(l.handled() == 5);
  CHECK(l.distinct() == 5);
  CHECK(l.complete());
  CHECK(l.lost() == 0);
  CHECK(l.duplicates() == 0);
  CHECK(l.out_of_order() == 0);
  CHECK(l.foreign() == 0);
  CHECK(l.max_seq() == 4);
}

TEST_CASE("an empty ledger is complete before anything is handled") {
  const Ledger l(0);
  CHECK(l.complete());
  CHECK(l.lost() == 0);
  CHECK(l.handled() == 0);
  CHECK(l.max_seq() == std::nullopt);
}

TEST_CASE("an entry never handled is lost, and the ledger is not complete") {
  const auto l = recorded(4, {0, 1, 3});
  CHECK(l.lost() == 1);
  CHECK_FALSE(l.complete());
  CHECK(l.distinct() == 3);
  CHECK(l.duplicates() == 0);
  CHECK(l.out_of_order() == 0);  // a gap is a loss, not a reordering
  CHECK(l.max_seq() == 3);
}

TEST_CASE("an entry handled twice is one duplicate, never a reordering, and does not make up for a loss") {
  const auto l = recorded(4, {0, 1, 1, 2});
  CHECK(l.handled() == 4);
  CHECK(l.distinct() == 3);
  CHECK(l.duplicates() == 1);
  CHECK(l.lost() == 1);
  CHECK_FALSE(l.complete());
  CHECK(l.out_of_order() == 0);

  // Redelivered after later entries, as a replay after a crash does it.
  const auto replayed = recorded(3, {0, 1, 2, 1, 1});
  CHECK(replayed.duplicates() == 2);
  CHECK(replayed.out_of_order() == 0);
  CHECK(replayed.complete());
}

TEST_CASE("an entry first handled after a higher one is out of order, counted on first sight only") {
  const auto l = recorded(4, {0, 2, 1, 3, 1});
  CHECK(l.out_of_order() == 1);
  CHECK(l.duplicates() == 1);
  CHECK(l.complete());
  CHECK(l.lost() == 0);
  CHECK(l.max_seq() == 3);

  // Each entry below the highest seen so far counts, not only the first.
  CHECK(recorded(4, {3, 0, 1, 2}).out_of_order() == 3);
}

TEST_CASE("an entry without a seq or beyond the ledger is foreign and counts for nothing else") {
  const auto l = recorded(2, {std::nullopt, 2, std::numeric_limits<std::uint64_t>::max(), 2, 0});
  CHECK(l.handled() == 5);
  CHECK(l.foreign() == 4);
  CHECK(l.distinct() == 1);
  CHECK(l.duplicates() == 0);  // the second 2 is foreign again, not a duplicate
  CHECK(l.out_of_order() == 0);
  CHECK(l.lost() == 1);
  CHECK(l.max_seq() == 0);  // foreign entries do not move the highest seq
}

TEST_CASE("parse_seq takes an unsigned 64-bit decimal and nothing else") {
  CHECK(parse_seq("0") == 0);
  CHECK(parse_seq("123") == 123);
  CHECK(parse_seq("18446744073709551615") == std::numeric_limits<std::uint64_t>::max());
  CHECK(parse_seq("") == std::nullopt);
  CHECK(parse_seq("12a") == std::nullopt);
  CHECK(parse_seq("-1") == std::nullopt);
  CHECK(parse_seq("+1") == std::nullopt);
  CHECK(parse_seq(" 1") == std::nullopt);
  CHECK(parse_seq("1 ") == std::nullopt);
  CHECK(parse_seq("0x10") == std::nullopt);
  CHECK(parse_seq("18446744073709551616") == std::nullopt);  // one over the maximum
}

TEST_CASE("parse_seq accepts leading zeros: \"007\" is seq 7") {
  // The producer never writes them; the ledger is lenient here, not strict.
  CHECK(parse_seq("007") == 7);
  CHECK(parse_seq("000") == 0);
}
