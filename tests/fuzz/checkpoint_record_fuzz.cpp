// Fuzz target: the checkpoint record codec and the local store's key encoding.
#include "fuzz_check.hpp"

#include <streamckpt/checkpoint.hpp>

#include <cstdint>
#include <string>
#include <string_view>

using streamckpt::Checkpoint;
namespace record = streamckpt::record;

namespace {

bool same(const Checkpoint& a, const Checkpoint& b) {
  return a.key == b.key && a.id == b.id && a.epoch == b.epoch && a.updated_ms == b.updated_ms &&
         a.metadata == b.metadata && a.entries_seen == b.entries_seen;
}

std::string with_crc(std::string_view body) {
  std::string out(body);
  const auto crc = record::crc32c(body);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((crc >> (8 * i)) & 0xFF));
  return out;
}

// The layout has no choices, so a record that decodes is exactly the encoding
// of what it decodes to; and a CRC-32C catches every single flipped bit.
void check_record(std::string_view bytes, std::size_t flip_seed) {
  const auto decoded = record::decode(bytes);
  if (!decoded) return;
  const Checkpoint& c = *decoded;
  FUZZ_CHECK(!c.key.validate());
  FUZZ_CHECK(c.metadata.size() <= Checkpoint::k_max_metadata_bytes);
  const auto encoded = record::encode(c);
  FUZZ_CHECK(encoded == bytes);
  const auto again = record::decode(encoded);
  FUZZ_CHECK(again && same(*again, c));

  std::string flipped(bytes);
  const auto bit = flip_seed % (flipped.size() * 8);
  flipped[bit / 8] ^= static_cast<char>(1u << (bit % 8));
  FUZZ_CHECK(!record::decode(flipped));
}

void check_key(std::string_view bytes) {
  const auto key = record::decode_key(bytes);
  if (!key) return;
  FUZZ_CHECK(record::encode_key(*key) == bytes);
  const auto again = record::decode_key(record::encode_key(*key));
  FUZZ_CHECK(again && *again == *key);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::size_t flip_seed = 0;
  for (const char c : bytes) flip_seed = flip_seed * 31 + static_cast<unsigned char>(c);

  check_record(bytes, flip_seed);
  // Random bytes almost never carry a valid CRC; also try the input as a
  // record body sealed with its CRC, to reach the field parsing.
  check_record(with_crc(bytes), flip_seed);
  check_key(bytes);
  return 0;
}
