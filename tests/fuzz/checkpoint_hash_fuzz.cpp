// Fuzz target: validation of the Redis copy of a checkpoint (an HGETALL
// reply), with the key and the fields taken from the input.
#include "fuzz_check.hpp"

#include "redis/checkpoint_store.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

using streamckpt::Checkpoint;
using streamckpt::CheckpointCopy;
using streamckpt::CheckpointKey;
using streamckpt::StreamId;
using streamckpt::redis::Value;

namespace {

bool same(const Checkpoint& a, const Checkpoint& b) {
  return a.key == b.key && a.id == b.id && a.epoch == b.epoch && a.updated_ms == b.updated_ms &&
         a.metadata == b.metadata && a.entries_seen == b.entries_seen;
}

Value string_value(std::string s) {
  Value v;
  v.type = Value::Type::string;
  v.str = std::move(s);
  return v;
}

Value hash_reply(const std::vector<std::string>& fields_and_values) {
  Value reply;
  reply.type = Value::Type::array;
  for (const auto& s : fields_and_values) reply.elements.push_back(string_value(s));
  return reply;
}

// The hash exactly as the update script's HSET writes it, from the arguments
// update_commands() passes (ARGV[i] is evalsha[4 + i]).
std::vector<std::string> written_hash(const Checkpoint& c) {
  const auto commands = streamckpt::redis::update_commands(c, "owner", false, false);
  const auto argv = [&](std::size_t i) { return commands.evalsha.at(4 + i); };
  FUZZ_CHECK(commands.evalsha.at(3) == streamckpt::redis::checkpoint_hash_key(c.key));
  return {"id",    argv(2), "pos",      argv(1), "epoch",        argv(3), "updated_ms", argv(4),
          "owner", argv(5), "metadata", argv(6), "entries_seen", argv(7), "crc",        argv(8)};
}

// Splits the input at every '\0'.
std::vector<std::string> pieces(std::string_view bytes) {
  std::vector<std::string> out;
  for (;;) {
    const auto end = bytes.find('\0');
    out.emplace_back(bytes.substr(0, end));
    if (end == std::string_view::npos) return out;
    bytes.remove_prefix(end + 1);
  }
}

std::uint64_t load_u64(std::string_view bytes, std::size_t at) {
  std::uint64_t value = 0;
  if (bytes.size() >= at + sizeof value) std::memcpy(&value, bytes.data() + at, sizeof value);
  return value;
}

// An arbitrary reply: whatever passes is a consistent checkpoint of `key`, and
// writing it back gives a hash that reads as the same checkpoint.
void check_arbitrary(const CheckpointKey& key, const std::vector<std::string>& fields) {
  auto reply = hash_reply(fields);
  if (reply.elements.size() % 2) reply.elements.pop_back();
  const auto copy = streamckpt::redis::parse_checkpoint_hash(key, reply);
  FUZZ_CHECK(copy.valid() == copy.checkpoint.has_value());
  FUZZ_CHECK(copy.valid() || copy.state == CheckpointCopy::State::absent || !copy.reason.empty());
  if (!copy.valid()) return;
  const auto& c = *copy.checkpoint;
  FUZZ_CHECK(c.key == key);
  FUZZ_CHECK(c.metadata.size() <= Checkpoint::k_max_metadata_bytes);
  const auto again = streamckpt::redis::parse_checkpoint_hash(key, hash_reply(written_hash(c)));
  FUZZ_CHECK(again.valid() && same(*again.checkpoint, c));
}

// A checkpoint built from the input survives the round trip, and replacing
// one field's value with input bytes either is caught or changes nothing the
// CRC covers (only `owner` is outside it).
void check_tampered(const CheckpointKey& key, std::string_view bytes, const std::string& replacement) {
  Checkpoint c;
  c.key = key;
  c.id = StreamId{load_u64(bytes, 0), load_u64(bytes, 8)};
  c.epoch = load_u64(bytes, 16);
  c.updated_ms = load_u64(bytes, 24);
  c.entries_seen = load_u64(bytes, 32);
  c.metadata = replacement.substr(0, Checkpoint::k_max_metadata_bytes);

  auto hash = written_hash(c);
  const auto copy = streamckpt::redis::parse_checkpoint_hash(key, hash_reply(hash));
  FUZZ_CHECK(copy.valid() && same(*copy.checkpoint, c));

  const auto field = 2 * (bytes.empty() ? 0 : static_cast<unsigned char>(bytes.back()) % (hash.size() / 2));
  // Always a different value: for `metadata`, `replacement` is what is stored.
  std::string& value = hash[field + 1];
  const std::string before = value;
  value = replacement;
  if (value == before) value += 'x';
  const auto tampered = streamckpt::redis::parse_checkpoint_hash(key, hash_reply(hash));
  if (tampered.valid()) FUZZ_CHECK(same(*tampered.checkpoint, c));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // stream \0 group \0 consumer \0 field \0 value \0 field \0 value …
  auto parts = pieces(bytes);
  parts.resize(std::max<std::size_t>(parts.size(), 4));
  const CheckpointKey key{parts[0], parts[1], parts[2]};
  const std::vector<std::string> fields(parts.begin() + 3, parts.end());

  check_arbitrary(key, fields);
  check_tampered(key, bytes, parts.back());
  return 0;
}
