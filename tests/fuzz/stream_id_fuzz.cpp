// Fuzz target: StreamId parsing and formatting.
#include "fuzz_check.hpp"

#include <streamckpt/stream_id.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

using streamckpt::StreamId;

namespace {

std::uint64_t load_u64(const std::uint8_t* bytes) {
  std::uint64_t value = 0;
  std::memcpy(&value, bytes, sizeof value);
  return value;
}

// parse() accepts the canonical form only, so what it accepts is exactly what
// to_string() prints; parse_range_start() adds "<ms>" alone.
void check_text(std::string_view text) {
  const auto id = StreamId::parse(text);
  const auto start = StreamId::parse_range_start(text);
  if (id) {
    FUZZ_CHECK(id->to_string() == text);
    FUZZ_CHECK(StreamId::parse(id->to_string()) == id);
    FUZZ_CHECK(start == id);
  } else if (start) {
    FUZZ_CHECK(text.find('-') == std::string_view::npos);
    FUZZ_CHECK(start->seq() == 0);
    FUZZ_CHECK(std::to_string(start->ms()) == text);
  }
}

// IDs built from raw bytes: every ID prints in a form that parses back, and
// the padded form sorts like the IDs.
void check_ids(const std::uint8_t* data, std::size_t size) {
  if (size < 32) return;
  const StreamId a{load_u64(data), load_u64(data + 8)};
  const StreamId b{load_u64(data + 16), load_u64(data + 24)};
  for (const auto& id : {a, b}) {
    FUZZ_CHECK(id.to_string().size() <= StreamId::k_max_text_length);
    FUZZ_CHECK(StreamId::parse(id.to_string()) == id);
    FUZZ_CHECK(id.to_padded().size() == StreamId::k_max_text_length);
    if (id != StreamId::max()) FUZZ_CHECK(id < id.next());
  }
  FUZZ_CHECK((a <=> b) == (a.to_padded() <=> b.to_padded()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_text(std::string_view(reinterpret_cast<const char*>(data), size));
  check_ids(data, size);
  return 0;
}
