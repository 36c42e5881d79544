// The checkpoint record codec: round trips, and every kind of damage detected.
#include <streamckpt/checkpoint.hpp>

#include <doctest/doctest.h>
#include <boost/crc.hpp>

#include <cstdint>
#include <string>
#include <string_view>

using streamckpt::Checkpoint;
using streamckpt::CheckpointKey;
using streamckpt::errc;
using streamckpt::StreamId;
namespace record = streamckpt::record;

namespace {

using Crc32c = boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true>;

std::uint32_t crc32c(std::string_view bytes) {
  Crc32c crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

void put_le(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

void put_string(std::string& out, std::string_view s) {
  put_le(out, s.size(), 2);
  out.append(s);
}

// Rewrites the last four bytes with the CRC-32C of the others.
void reseal(std::string& rec) {
  REQUIRE(rec.size() >= 4);
  rec.resize(rec.size() - 4);
  put_le(rec, crc32c(rec), 4);
}

// The record with `extra` appended to its body, sealed with a fresh CRC.
std::string append_sealed(const std::string& rec, std::string_view extra) {
  REQUIRE(rec.size() >= 4);
  std::string out(rec, 0, rec.size() - 4);
  out.append(extra.data(), extra.size());
  put_le(out, crc32c(out), 4);
  return out;
}

Checkpoint sample() {
  Checkpoint c;
  c.key = CheckpointKey{"orders", "billing", "worker-1"};
  c.id = StreamId(1700000000123ULL, 7);
  c.epoch = 3;
  c.updated_ms = 1700000000999ULL;
  c.entries_seen = 123456789012345ULL;
  c.metadata = std::string("offset=42\0binary\xff", 17);
  return c;
}

void check_same(const Checkpoint& got, const Checkpoint& want) {
  CHECK(got.key.stream == want.key.stream);
  CHECK(got.key.group == want.key.group);
  CHECK(got.key.consumer == want.key.consumer);
  CHECK(got.id == want.id);
  CHECK(got.epoch == want.epoch);
  CHECK(got.updated_ms == want.updated_ms);
  CHECK(got.entries_seen == want.entries_seen);
  CHECK(got.metadata == want.metadata);
}

}  // namespace

TEST_CASE("CRC-32C of \"123456789\" is 0xE3069283 (the Castagnoli polynomial)") {
  CHECK(crc32c("123456789") == 0xE3069283u);
}

TEST_CASE("encode follows the documented little-endian layout with a trailing CRC-32C") {
  const auto c = sample();
  std::string want;
  want.push_back(static_cast<char>(record::k_version));
  put_string(want, c.key.stream);
  put_string(want, c.key.group);
  put_string(want, c.key.consumer);
  put_le(want, c.id.ms(), 8);
  put_le(want, c.id.seq(), 8);
  put_le(want, c.epoch, 8);
  put_le(want, c.updated_ms, 8);
  put_le(want, c.entries_seen, 8);
  put_string(want, c.metadata);
  put_le(want, crc32c(want), 4);
  CHECK(record::encode(c) == want);
  CHECK(record::k_version == 1);
}

TEST_CASE("a record round-trips every field (group mode)") {
  const auto c = sample();
  const auto decoded = record::decode(record::encode(c));
  REQUIRE(decoded.has_value());
  check_same(*decoded, c);
}

TEST_CASE("a record round-trips every field with an empty group (plain mode)") {
  auto c = sample();
  c.key.group.clear();
  c.metadata.clear();
  c.id = StreamId::max();
  c.epoch = UINT64_MAX;
  c.updated_ms = 0;
  c.entries_seen = 0;
  const auto decoded = record::decode(record::encode(c));
  REQUIRE(decoded.has_value());
  check_same(*decoded, c);
  CHECK(decoded->key.plain());
}

TEST_CASE("a record round-trips 1024 bytes of metadata and 1024-byte names") {
  Checkpoint c = sample();
  c.key.stream = std::string(CheckpointKey::k_max_name_bytes, 's');
  c.key.group = std::string(CheckpointKey::k_max_name_bytes, 'g');
  c.key.consumer = std::string(CheckpointKey::k_max_name_bytes, 'c');
  c.metadata.clear();
  for (std::size_t i = 0; i < Checkpoint::k_max_metadata_bytes; ++i) c.metadata.push_back(static_cast<char>(i * 37));
  const auto bytes = record::encode(c);
  CHECK(bytes.size() <= record::k_max_bytes);
  const auto decoded = record::decode(bytes);
  REQUIRE(decoded.has_value());
  check_same(*decoded, c);
}

TEST_CASE("a record with any single flipped bit is reported with a bad CRC") {
  const auto good = record::encode(sample());
  REQUIRE(record::decode(good).has_value());
  for (std::size_t byte = 0; byte < good.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      auto bad = good;
      bad[byte] = static_cast<char>(static_cast<unsigned char>(bad[byte]) ^ (1u << bit));
      const auto r = record::decode(bad);
      CAPTURE(byte);
      CAPTURE(bit);
      REQUIRE_FALSE(r.has_value());
      CHECK(r.error() == errc::record_bad_crc);
    }
  }
}

TEST_CASE("every truncation of a record is an error, never a crash") {
  const auto good = record::encode(sample());
  // version + three empty names + five u64 + empty metadata + CRC
  constexpr std::size_t min_bytes = 1 + 3 * 2 + 5 * 8 + 2 + 4;
  for (std::size_t len = 0; len < good.size(); ++len) {
    CAPTURE(len);
    const auto r = record::decode(std::string_view(good).substr(0, len));
    REQUIRE_FALSE(r.has_value());
    if (len < min_bytes)
      CHECK(r.error() == errc::record_truncated);
    else
      CHECK(r.error() == errc::record_bad_crc);
  }
}

TEST_CASE("a truncated record whose CRC is recomputed is malformed") {
  const auto good = record::encode(sample());
  // Drop the last metadata byte, then seal the shorter body again.
  std::string bad = good.substr(0, good.size() - 5);
  put_le(bad, crc32c(bad), 4);
  const auto r = record::decode(bad);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == errc::record_malformed);
}

TEST_CASE("trailing bytes after the metadata are malformed even with a valid CRC") {
  const auto bad = append_sealed(record::encode(sample()), "x");
  const auto r = record::decode(bad);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == errc::record_malformed);
}

TEST_CASE("an input larger than k_max_bytes is reported oversize") {
  const std::string huge(record::k_max_bytes + 1, '\0');
  const auto r = record::decode(huge);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == errc::record_oversize);

  // Exactly k_max_bytes is not oversize: it fails on its CRC instead.
  const std::string limit(record::k_max_bytes, '\0');
  const auto at_limit = record::decode(limit);
  REQUIRE_FALSE(at_limit.has_value());
  CHECK(at_limit.error() == errc::record_bad_crc);
}

TEST_CASE("a record with another version byte and a valid CRC is an unknown version") {
  for (int version : {0, 2, 255}) {
    CAPTURE(version);
    auto bad = record::encode(sample());
    bad[0] = static_cast<char>(version);
    reseal(bad);
    const auto r = record::decode(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == errc::record_unknown_version);
  }
}

TEST_CASE("a record with a length field too large and a valid CRC is malformed") {
  const auto good = record::encode(sample());
  SUBCASE("stream name length beyond the name limit") {
    auto bad = good;
    bad[1] = static_cast<char>(0xFF);
    bad[2] = static_cast<char>(0xFF);
    reseal(bad);
    const auto r = record::decode(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == errc::record_malformed);
  }
  SUBCASE("stream name length within the limit but beyond the record") {
    auto bad = good;
    bad[1] = static_cast<char>(0x00);
    bad[2] = static_cast<char>(0x04);  // 1024
    reseal(bad);
    const auto r = record::decode(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == errc::record_malformed);
  }
  SUBCASE("metadata length beyond 1024 bytes") {
    auto c = sample();
    c.metadata.clear();
    auto sealed = record::encode(c);
    // The empty metadata's length is the two bytes before the CRC.
    sealed[sealed.size() - 6] = static_cast<char>(0x01);
    sealed[sealed.size() - 5] = static_cast<char>(0x04);  // 1025
    const auto bad = append_sealed(sealed, std::string(1025, 'm'));
    REQUIRE(bad.size() <= record::k_max_bytes);
    const auto r = record::decode(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == errc::record_malformed);
  }
}

TEST_CASE("a well-sealed record with an invalid key (empty stream) is malformed") {
  std::string bad;
  bad.push_back(static_cast<char>(record::k_version));
  put_string(bad, "");
  put_string(bad, "g");
  put_string(bad, "c");
  for (int i = 0; i < 5; ++i) put_le(bad, 1, 8);
  put_string(bad, "");
  put_le(bad, crc32c(bad), 4);
  const auto r = record::decode(bad);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == errc::record_malformed);
}

TEST_CASE("a key round-trips through encode_key and decode_key") {
  const CheckpointKey key{"orders", "", "c1"};
  const auto bytes = record::encode_key(key);
  CHECK(bytes == std::string("\x06\x00orders\x00\x00\x02\x00"
                             "c1",
                             14));
  const auto decoded = record::decode_key(bytes);
  REQUIRE(decoded.has_value());
  CHECK(*decoded == key);

  for (std::size_t len = 0; len < bytes.size(); ++len) {
    CAPTURE(len);
    const auto r = record::decode_key(std::string_view(bytes).substr(0, len));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == errc::record_malformed);
  }
  const auto trailing = record::decode_key(bytes + "x");
  REQUIRE_FALSE(trailing.has_value());
  CHECK(trailing.error() == errc::record_malformed);
}

TEST_CASE("a key is invalid when the stream or consumer is empty or a name is too long") {
  CHECK_FALSE(CheckpointKey{"s", "", "c"}.validate());
  CHECK_FALSE(CheckpointKey{"s", "g", "c"}.validate());
  CHECK(CheckpointKey{"", "g", "c"}.validate() == errc::invalid_key);
  CHECK(CheckpointKey{"s", "g", ""}.validate() == errc::invalid_key);
  const std::string long_name(CheckpointKey::k_max_name_bytes + 1, 'x');
  CHECK(CheckpointKey{long_name, "", "c"}.validate() == errc::invalid_key);
  CHECK(CheckpointKey{"s", long_name, "c"}.validate() == errc::invalid_key);
  CHECK(CheckpointKey{"s", "", long_name}.validate() == errc::invalid_key);
}

TEST_CASE("an ID list round-trips, and a flipped bit or a wrong count is an error") {
  using streamckpt::StreamId;
  const std::vector<StreamId> ids = {StreamId(1, 0), StreamId(1700000000000ULL, 7), StreamId(UINT64_MAX, UINT64_MAX)};
  const auto bytes = streamckpt::record::encode_ids(ids);
  CHECK(bytes.size() == 4 + 3 * 16 + 4);
  const auto back = streamckpt::record::decode_ids(bytes);
  REQUIRE(back.has_value());
  CHECK(*back == ids);
  CHECK(streamckpt::record::decode_ids(streamckpt::record::encode_ids({}))->empty());
  auto flipped = bytes;
  flipped[9] = static_cast<char>(flipped[9] ^ 0x10);
  CHECK(streamckpt::record::decode_ids(flipped).error() == streamckpt::errc::record_bad_crc);
  CHECK(streamckpt::record::decode_ids(bytes.substr(0, 5)).error() == streamckpt::errc::record_truncated);
  // A count that does not match the bytes, with a CRC that does.
  std::string lying = bytes.substr(0, bytes.size() - 4);
  lying[0] = 4;
  const auto crc = streamckpt::record::crc32c(lying);
  for (int i = 0; i < 4; ++i) lying.push_back(static_cast<char>((crc >> (8 * i)) & 0xFF));
  CHECK(streamckpt::record::decode_ids(lying).error() == streamckpt::errc::record_malformed);
}
