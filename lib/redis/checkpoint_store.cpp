#include "redis/checkpoint_store.hpp"

#include "redis/cluster.hpp"

#include <fmt/format.h>
#include <boost/uuid/detail/sha1.hpp>

#include <charconv>
#include <map>

namespace streamckpt::redis {
namespace {

// Writes only forward: a higher epoch, or the same epoch and a greater pos
// (the `unxacked` list, when given, always).
// A `pos` or `epoch` that is garbage is overwritten. With fencing, only the
// lease holder may write.
constexpr std::string_view k_update_script = R"lua(
if ARGV[10] == '1' then
  if redis.call('GET', KEYS[2]) ~= ARGV[5] then return -1 end
end
if ARGV[12] == '1' then redis.call('HSET', KEYS[1], 'unxacked', ARGV[11]) end
local cur = redis.call('HGET', KEYS[1], 'pos')
local cur_epoch = tonumber(redis.call('HGET', KEYS[1], 'epoch'))
local new_epoch = tonumber(ARGV[3])
if ARGV[9] ~= '1' and cur and cur_epoch and string.len(cur) == 41 and string.match(cur, '^%d+%-%d+$') then
  if cur_epoch > new_epoch or (cur_epoch == new_epoch and cur >= ARGV[1]) then return 0 end
end
redis.call('HSET', KEYS[1], 'id', ARGV[2], 'pos', ARGV[1], 'epoch', ARGV[3], 'updated_ms', ARGV[4],
           'owner', ARGV[5], 'metadata', ARGV[6], 'entries_seen', ARGV[7], 'crc', ARGV[8])
return 1
)lua";

std::string sha1_hex(std::string_view text) {
  boost::uuids::detail::sha1 sha;
  sha.process_bytes(text.data(), text.size());
  boost::uuids::detail::sha1::digest_type digest;
  sha.get_digest(digest);
  std::string out;
  for (const auto word : digest) out += fmt::format("{:08x}", word);
  return out;
}

const std::string& script_sha() {
  static const std::string sha = sha1_hex(k_update_script);
  return sha;
}

std::optional<std::uint64_t> parse_u64(const std::string& s) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// The group and consumer parts of a key, with '%', ':', '{' and '}'
// percent-encoded: a name that contains ':' cannot pass for two parts, so no
// two identities share a hash or a lease. Most names have none of them and
// appear as they are.
std::string key_part(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (const char c : name) {
    if (c == '%' || c == ':' || c == '{' || c == '}')
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    else
      out += c;
  }
  return out;
}

}  // namespace

bool slot_keys_possible(std::string_view stream) {
  return hash_tag(stream) || stream.find('}') == std::string_view::npos;
}

// The part of every key that names the stream, hashed as the stream is:
//   {<stream>}           a stream without '}': its whole name is the tag, as
//                        it is the whole name Redis hashes for the stream;
//   {<tag>}:<stream %>   a stream with a hash tag: the same tag, then the
//                        name percent-encoded (no ':', '{' or '}' left), so
//                        that streams sharing a tag keep keys of their own;
//   {<stream>}           a '}' but no tag: no key can share the stream's slot
//                        (slot_keys_possible() is false; Cluster refuses it).
// A key names one identity: in the first and last forms the stream is the
// text between the first "{" and the "}:" before the last two parts; the
// second has three parts after its tag, none with a ':'.
std::string stream_part(std::string_view stream) {
  if (const auto tag = hash_tag(stream)) return fmt::format("{{{}}}:{}", *tag, key_part(stream));
  return fmt::format("{{{}}}", stream);
}

std::string checkpoint_hash_key(const CheckpointKey& key) {
  return fmt::format("streamckpt:{}:{}:{}", stream_part(key.stream), key_part(key.group), key_part(key.consumer));
}

std::string lease_key(const CheckpointKey& key) { return checkpoint_hash_key(key) + ":lease"; }

std::string deliveries_key(const CheckpointKey& key) {
  // Two colons: no consumer name encodes to an empty part, so no hash or
  // lease of a consumer has this key.
  return fmt::format("streamckpt:{}:{}::deliveries", stream_part(key.stream), key_part(key.group));
}

std::string checkpoint_crc(const Checkpoint& c) {
  const auto text = fmt::format("{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}", c.key.stream.size(), c.key.stream, c.key.group,
                                c.key.consumer, c.id.to_string(), c.epoch, c.updated_ms, c.entries_seen, c.metadata);
  // The names are length-prefixed where ambiguity could hide a different key.
  const auto framed = fmt::format("{}:{}:{}|{}", c.key.group.size(), c.key.consumer.size(), c.metadata.size(), text);
  return fmt::format("{:08x}", record::crc32c(framed));
}

CheckpointCopy parse_checkpoint_hash(const CheckpointKey& key, const Value& reply) {
  if (reply.is_error()) {
    if (reply.error_prefix() == "WRONGTYPE") return CheckpointCopy::invalid("the key holds a value that is not a hash");
    return CheckpointCopy::invalid(reply.str);
  }
  if (!reply.is_array() || reply.elements.size() % 2) return CheckpointCopy::invalid("unexpected HGETALL reply");
  if (reply.elements.empty()) return CheckpointCopy::absent();
  std::map<std::string, std::string> f;
  for (std::size_t i = 0; i < reply.elements.size(); i += 2) f[reply.elements[i].str] = reply.elements[i + 1].str;

  Checkpoint c;
  c.key = key;
  const auto id = StreamId::parse(f["id"]);
  if (!id) return CheckpointCopy::invalid(fmt::format("field id '{}' is not a stream ID", f["id"]));
  c.id = *id;
  if (f["pos"] != id->to_padded())
    return CheckpointCopy::invalid(fmt::format("field pos '{}' does not match id {}", f["pos"], f["id"]));
  const auto epoch = parse_u64(f["epoch"]);
  const auto updated = parse_u64(f["updated_ms"]);
  const auto seen = parse_u64(f["entries_seen"]);
  if (!epoch || !updated || !seen)
    return CheckpointCopy::invalid("field epoch, updated_ms or entries_seen is not a number");
  c.epoch = *epoch;
  c.updated_ms = *updated;
  c.entries_seen = *seen;
  c.metadata = f["metadata"];
  if (c.metadata.size() > Checkpoint::k_max_metadata_bytes)
    return CheckpointCopy::invalid("field metadata is larger than 1024 bytes");
  if (f["crc"] != checkpoint_crc(c))
    return CheckpointCopy::invalid("field crc does not match (corrupted, or copied from another key)");
  return CheckpointCopy::of(std::move(c));
}

std::string format_id_list(const std::vector<StreamId>& ids) {
  std::string out;
  for (const auto id : ids) {
    if (!out.empty()) out += ',';
    out += id.to_string();
  }
  return out;
}

std::optional<std::vector<StreamId>> parse_id_list(std::string_view text) {
  std::vector<StreamId> ids;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const auto id = StreamId::parse(text.substr(0, comma));
    if (!id) return std::nullopt;
    ids.push_back(*id);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
    if (text.empty()) return std::nullopt;  // a trailing ','
  }
  return ids;
}

UpdateCommands update_commands(const Checkpoint& c, const std::string& owner, bool force, bool fenced,
                               const std::string* unxacked) {
  std::vector<std::string> tail = {"2",
                                   checkpoint_hash_key(c.key),
                                   lease_key(c.key),
                                   c.id.to_padded(),
                                   c.id.to_string(),
                                   std::to_string(c.epoch),
                                   std::to_string(c.updated_ms),
                                   owner,
                                   c.metadata,
                                   std::to_string(c.entries_seen),
                                   checkpoint_crc(c),
                                   force ? "1" : "0",
                                   fenced ? "1" : "0",
                                   unxacked ? *unxacked : std::string(),
                                   unxacked ? "1" : "0"};
  UpdateCommands out;
  out.evalsha = {"EVALSHA", script_sha()};
  out.evalsha.insert(out.evalsha.end(), tail.begin(), tail.end());
  out.eval = {"EVAL", std::string(k_update_script)};
  out.eval.insert(out.eval.end(), tail.begin(), tail.end());
  return out;
}

boost::asio::awaitable<Result<CheckpointCopy>> read_checkpoint(Connection& conn, const CheckpointKey& key,
                                                               std::string* detail) {
  auto reply = co_await conn.exec_one(command("HGETALL", checkpoint_hash_key(key)));
  if (!reply) {
    if (detail) *detail = fmt::format("reading the Redis copy failed: {}", reply.error().message());
    co_return reply.error();
  }
  co_return parse_checkpoint_hash(key, *reply);
}

boost::asio::awaitable<Result<UpdateOutcome>> write_checkpoint(Connection& conn, const Checkpoint& c,
                                                               const std::string& owner, bool force, bool fenced,
                                                               std::string* detail, const std::string* unxacked) {
  auto commands = update_commands(c, owner, force, fenced, unxacked);
  auto reply = co_await conn.exec_one(std::move(commands.evalsha));
  if (reply && reply->error_prefix() == std::string_view("NOSCRIPT"))
    reply = co_await conn.exec_one(std::move(commands.eval));
  if (!reply) co_return reply.error();
  if (reply->is_error()) {
    if (detail) *detail = reply->str;
    co_return reply->str.find("WRONGTYPE") != std::string::npos ? make_error_code(errc::wrong_type)
                                                                : make_error_code(errc::redis_error);
  }
  if (reply->integer == 1) co_return UpdateOutcome::written;
  if (reply->integer == -1) co_return UpdateOutcome::not_owner;
  co_return UpdateOutcome::not_newer;
}

}  // namespace streamckpt::redis
