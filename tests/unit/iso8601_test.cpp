// --to-datetime's parser: ISO 8601 with a zone, to Unix milliseconds.
#include "iso8601.hpp"

#include <doctest/doctest.h>

using streamckpt::cli::parse_iso8601_ms;

TEST_CASE("a UTC time, with or without a fraction, is its milliseconds since 1970") {
  CHECK(parse_iso8601_ms("1970-01-01T00:00:00Z") == 0u);
  CHECK(parse_iso8601_ms("2026-01-31T12:00:00Z") == 1769860800000u);
  CHECK(parse_iso8601_ms("2026-01-31T12:00:00.250Z") == 1769860800250u);
  CHECK(parse_iso8601_ms("2026-01-31T12:00:00.2Z") == 1769860800200u);
  CHECK(parse_iso8601_ms("2026-01-31T12:00:00.123456789Z") == 1769860800123u);  // cut to milliseconds
  CHECK(parse_iso8601_ms("2024-02-29T00:00:00Z") == 1709164800000u);            // a leap day
}

TEST_CASE("an offset names the same instant in another zone") {
  const auto utc = parse_iso8601_ms("2026-01-31T12:00:00Z");
  CHECK(parse_iso8601_ms("2026-01-31T13:00:00+01:00") == utc);
  CHECK(parse_iso8601_ms("2026-01-31T13:00:00+0100") == utc);
  CHECK(parse_iso8601_ms("2026-01-31T06:30:00-05:30") == utc);
  CHECK(parse_iso8601_ms("2026-02-01T00:00:00+12:00") == utc);
}

TEST_CASE("anything else is refused") {
  for (const char* bad :
       {"", "2026-01-31", "2026-01-31T12:00:00", "2026-01-31 12:00:00Z", "2026-1-31T12:00:00Z", "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z", "2026-01-31T24:00:00Z", "2026-01-31T12:60:00Z",
        "2026-01-31T12:00:60Z", "2026-01-31T12:00:00.Z", "2026-01-31T12:00:00+1:00", "2026-01-31T12:00:00+24:00",
        "2026-01-31T12:00:00Zjunk", "1969-12-31T23:59:59Z", "1970-01-01T00:30:00+01:00", "2026-01-31t12:00:00z"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_iso8601_ms(bad));
  }
}
