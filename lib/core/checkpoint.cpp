#include <streamckpt/checkpoint.hpp>

#include <fmt/format.h>
#include <boost/crc.hpp>

#include <chrono>

namespace streamckpt {

std::uint64_t now_unix_ms() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

std::string CheckpointKey::describe() const {
  return fmt::format("stream '{}', group '{}', consumer '{}'", stream, group, consumer);
}

boost::system::error_code CheckpointKey::validate() const {
  if (stream.empty() || consumer.empty()) return errc::invalid_key;
  if (stream.size() > k_max_name_bytes || group.size() > k_max_name_bytes || consumer.size() > k_max_name_bytes)
    return errc::invalid_key;
  return {};
}

namespace record {
namespace {

// CRC-32C (Castagnoli), as used by iSCSI, ext4 and RocksDB.
using Crc32c = boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true>;

void put_le(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

void put_string(std::string& out, std::string_view s) {
  put_le(out, s.size(), 2);
  out.append(s);
}

// Bounds-checked reader over a byte string.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  bool read_le(int n, std::uint64_t& value) {
    if (bytes_.size() < static_cast<std::size_t>(n)) return false;
    value = 0;
    for (int i = 0; i < n; ++i) value |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes_[i])) << (8 * i);
    bytes_.remove_prefix(n);
    return true;
  }

  bool read_string(std::size_t max, std::string& out) {
    std::uint64_t len = 0;
    if (!read_le(2, len) || len > max || bytes_.size() < len) return false;
    out.assign(bytes_.substr(0, len));
    bytes_.remove_prefix(len);
    return true;
  }

  bool empty() const { return bytes_.empty(); }

 private:
  std::string_view bytes_;
};

bool read_key(Reader& in, CheckpointKey& key) {
  return in.read_string(CheckpointKey::k_max_name_bytes, key.stream) &&
         in.read_string(CheckpointKey::k_max_name_bytes, key.group) &&
         in.read_string(CheckpointKey::k_max_name_bytes, key.consumer);
}

void write_key(std::string& out, const CheckpointKey& key) {
  put_string(out, key.stream);
  put_string(out, key.group);
  put_string(out, key.consumer);
}

// version + three empty names + five u64 + empty metadata + crc
constexpr std::size_t k_min_bytes = 1 + 3 * 2 + 5 * 8 + 2 + 4;

}  // namespace

std::uint32_t crc32c(std::string_view bytes) {
  Crc32c crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

std::string encode(const Checkpoint& c) {
  std::string out;
  out.reserve(k_min_bytes + c.key.stream.size() + c.key.group.size() + c.key.consumer.size() + c.metadata.size());
  out.push_back(static_cast<char>(k_version));
  write_key(out, c.key);
  put_le(out, c.id.ms(), 8);
  put_le(out, c.id.seq(), 8);
  put_le(out, c.epoch, 8);
  put_le(out, c.updated_ms, 8);
  put_le(out, c.entries_seen, 8);
  put_string(out, c.metadata);
  put_le(out, crc32c(out), 4);
  return out;
}

Result<Checkpoint> decode(std::string_view bytes) noexcept {
  if (bytes.size() > k_max_bytes) return errc::record_oversize;
  if (bytes.size() < k_min_bytes) return errc::record_truncated;
  const auto body = bytes.substr(0, bytes.size() - 4);
  std::uint64_t stored_crc = 0;
  Reader crc_reader(bytes.substr(bytes.size() - 4));
  crc_reader.read_le(4, stored_crc);
  if (crc32c(body) != stored_crc) return errc::record_bad_crc;
  if (static_cast<std::uint8_t>(body[0]) != k_version) return errc::record_unknown_version;

  try {
    Reader in(body.substr(1));
    Checkpoint c;
    std::uint64_t ms = 0, seq = 0;
    if (!read_key(in, c.key) || !in.read_le(8, ms) || !in.read_le(8, seq) || !in.read_le(8, c.epoch) ||
        !in.read_le(8, c.updated_ms) || !in.read_le(8, c.entries_seen) ||
        !in.read_string(Checkpoint::k_max_metadata_bytes, c.metadata) || !in.empty())
      return errc::record_malformed;
    c.id = StreamId{ms, seq};
    if (c.key.validate()) return errc::record_malformed;
    return c;
  } catch (const std::bad_alloc&) {
    return errc::record_malformed;
  }
}

std::string encode_key(const CheckpointKey& key) {
  std::string out;
  write_key(out, key);
  return out;
}

Result<CheckpointKey> decode_key(std::string_view bytes) noexcept {
  try {
    Reader in(bytes);
    CheckpointKey key;
    if (!read_key(in, key) || !in.empty()) return errc::record_malformed;
    return key;
  } catch (const std::bad_alloc&) {
    return errc::record_malformed;
  }
}

std::string encode_ids(const std::vector<StreamId>& ids) {
  std::string out;
  out.reserve(4 + 16 * ids.size() + 4);
  put_le(out, ids.size(), 4);
  for (const auto id : ids) {
    put_le(out, id.ms(), 8);
    put_le(out, id.seq(), 8);
  }
  put_le(out, crc32c(out), 4);
  return out;
}

Result<std::vector<StreamId>> decode_ids(std::string_view bytes) noexcept {
  if (bytes.size() < 8) return errc::record_truncated;
  const auto body = bytes.substr(0, bytes.size() - 4);
  std::uint64_t stored_crc = 0, count = 0;
  Reader crc_reader(bytes.substr(bytes.size() - 4));
  crc_reader.read_le(4, stored_crc);
  if (crc32c(body) != stored_crc) return errc::record_bad_crc;
  Reader in(body);
  in.read_le(4, count);
  if (body.size() != 4 + 16 * count) return errc::record_malformed;
  try {
    std::vector<StreamId> ids;
    ids.reserve(count);
    for (std::uint64_t i = 0; i < count; ++i) {
      std::uint64_t ms = 0, seq = 0;
      in.read_le(8, ms);
      in.read_le(8, seq);
      ids.emplace_back(ms, seq);
    }
    return ids;
  } catch (const std::bad_alloc&) {
    return errc::record_malformed;
  }
}

}  // namespace record
}  // namespace streamckpt
