// ISO 8601 date and time, with a zone, to milliseconds since the Unix epoch:
// what --to-datetime takes.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace streamckpt::cli {

// YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM|+HHMM|-HHMM), at or after
// 1970-01-01T00:00:00Z; a fraction beyond milliseconds is cut off. Nothing
// for anything else (no zone, a 13th month, February 30th, …).
std::optional<std::uint64_t> parse_iso8601_ms(std::string_view text);

}  // namespace streamckpt::cli
