// StreamId: strict parsing of "<ms>-<seq>", ordering, next(), formatting.
#include <streamckpt/stream_id.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>

using streamckpt::StreamId;

namespace {

StreamId must_parse(std::string_view text) {
  const auto id = StreamId::parse(text);
  REQUIRE_MESSAGE(id.has_value(), "expected '", std::string(text), "' to parse");
  return *id;
}

}  // namespace

TEST_CASE("parse rejects every malformed, special or incomplete form") {
  const char* const rejected[] = {
      "",
      "1-",
      "-1-0",
      "1-*",
      "007-1",
      "+1-0",
      " 1-0",
      "1--05",
      "18446744073709551616-0",
      "0-18446744073709551616",
      "1-0 ",
      "1",
      "-",
      "+",
      "$",
      ">",
      "*",
      "1-01",
      "01-0",
      "1-0-0",
      "1-a",
      "0x1-0",
      "1-+0",
      "1-\t0",
      "-0",
      "1_0",
  };
  for (const char* text : rejected) {
    CAPTURE(text);
    CHECK_FALSE(StreamId::parse(text).has_value());
  }
}

TEST_CASE("parse rejects a string longer than 41 characters") {
  const std::string ms(20, '1');
  const std::string seq(21, '1');
  const std::string text = ms + "-" + seq;
  REQUIRE(text.size() == 42);
  CHECK_FALSE(StreamId::parse(text).has_value());

  // 42 characters that would be a valid ID but for one extra leading zero.
  const std::string padded = "0" + std::string("18446744073709551615-18446744073709551615");
  REQUIRE(padded.size() == 42);
  CHECK_FALSE(StreamId::parse(padded).has_value());
}

TEST_CASE("parse accepts canonical IDs and yields their exact parts") {
  const auto zero = must_parse("0-0");
  CHECK(zero.ms() == 0);
  CHECK(zero.seq() == 0);
  CHECK(zero.is_zero());

  const auto one = must_parse("1-0");
  CHECK(one.ms() == 1);
  CHECK(one.seq() == 0);
  CHECK_FALSE(one.is_zero());

  const auto typical = must_parse("1700000000000-42");
  CHECK(typical.ms() == 1700000000000ULL);
  CHECK(typical.seq() == 42);

  const auto max = must_parse("18446744073709551615-18446744073709551615");
  CHECK(max.ms() == UINT64_MAX);
  CHECK(max.seq() == UINT64_MAX);
  CHECK(max == StreamId::max());
  CHECK(zero == StreamId::min());
}

TEST_CASE("IDs order numerically, not as text") {
  CHECK(must_parse("9-0") < must_parse("10-0"));
  CHECK(must_parse("1-9") < must_parse("1-10"));
  CHECK(must_parse("1-18446744073709551615") < must_parse("2-0"));
  CHECK(must_parse("5-5") == StreamId(5, 5));
  CHECK_FALSE(must_parse("10-0") < must_parse("9-0"));
  CHECK(StreamId::min() < StreamId::max());
}

TEST_CASE("next() is the smallest greater ID, carrying into ms") {
  CHECK(StreamId(1, 5).next() == StreamId(1, 6));
  CHECK(StreamId(1, UINT64_MAX).next() == StreamId(2, 0));
  CHECK(StreamId(0, 0).next() == StreamId(0, 1));
}

TEST_CASE("to_string round-trips through parse") {
  const StreamId ids[] = {StreamId(0, 0), StreamId(1, 0), StreamId(1700000000000ULL, 7), StreamId::max()};
  for (const auto& id : ids) {
    const auto text = id.to_string();
    CAPTURE(text);
    CHECK(must_parse(text) == id);
  }
  CHECK(StreamId(12, 34).to_string() == "12-34");
  CHECK(StreamId::max().to_string() == "18446744073709551615-18446744073709551615");
}

TEST_CASE("to_padded is two 20-digit numbers whose byte order equals ID order") {
  CHECK(StreamId(1, 2).to_padded() == "00000000000000000001-00000000000000000002");
  CHECK(StreamId::max().to_padded() == "18446744073709551615-18446744073709551615");
  CHECK(StreamId(9, 0).to_padded() < StreamId(10, 0).to_padded());
  CHECK(StreamId(1, 9).to_padded() < StreamId(1, 10).to_padded());
}

TEST_CASE("parse_range_start also accepts a bare ms, meaning ms-0") {
  const auto five = StreamId::parse_range_start("5");
  REQUIRE(five.has_value());
  CHECK(*five == StreamId(5, 0));

  const auto full = StreamId::parse_range_start("5-3");
  REQUIRE(full.has_value());
  CHECK(*full == StreamId(5, 3));

  CHECK_FALSE(StreamId::parse_range_start("").has_value());
  CHECK_FALSE(StreamId::parse_range_start("05").has_value());
  CHECK_FALSE(StreamId::parse_range_start("-").has_value());
  CHECK_FALSE(StreamId::parse_range_start("5-").has_value());
  CHECK_FALSE(StreamId::parse_range_start("18446744073709551616").has_value());
}
