#include "consumer/stream_reply.hpp"

#include <charconv>

namespace streamckpt::detail {
namespace {

using redis::Value;

std::optional<StreamId> id_of(const Value& v) {
  if (!v.is_string()) return std::nullopt;
  return StreamId::parse(v.str);
}

std::optional<std::uint64_t> uint_of(const Value& v) {
  if (v.type == Value::Type::integer) {
    if (v.integer < 0) return std::nullopt;
    return static_cast<std::uint64_t>(v.integer);
  }
  if (!v.is_string()) return std::nullopt;
  std::uint64_t out = 0;
  const auto [end, ec] = std::from_chars(v.str.data(), v.str.data() + v.str.size(), out);
  if (ec != std::errc{} || end != v.str.data() + v.str.size()) return std::nullopt;
  return out;
}

// XINFO replies are flat [name, value, name, value, …] arrays in RESP2.
const Value* field(const Value& map, std::string_view name) {
  if (!map.is_array()) return nullptr;
  for (std::size_t i = 0; i + 1 < map.elements.size(); i += 2)
    if (map.elements[i].is_string() && map.elements[i].str == name) return &map.elements[i + 1];
  return nullptr;
}

}  // namespace

namespace {

// Appends the entries of `list` ([id, [field, value, …] or nil], …) to `out`.
bool append_entries(Value& list, std::vector<ReadEntry>& out) {
  if (!list.is_array()) return false;
  out.reserve(out.size() + list.elements.size());
  for (auto& entry : list.elements) {
    if (!entry.is_array() || entry.elements.size() != 2) return false;
    const auto id = id_of(entry.elements[0]);
    if (!id) return false;
    ReadEntry e;
    e.event.id = *id;
    auto& payload = entry.elements[1];
    if (payload.is_nil()) {
      e.deleted = true;
    } else {
      if (!payload.is_array() || payload.elements.size() % 2 != 0) return false;
      e.event.fields.reserve(payload.elements.size() / 2);
      for (std::size_t i = 0; i < payload.elements.size(); i += 2) {
        if (!payload.elements[i].is_string() || !payload.elements[i + 1].is_string()) return false;
        e.event.fields.emplace_back(std::move(payload.elements[i].str), std::move(payload.elements[i + 1].str));
      }
    }
    out.push_back(std::move(e));
  }
  return true;
}

}  // namespace

Result<std::vector<ReadEntry>> parse_read_reply(Value reply) {
  std::vector<ReadEntry> out;
  if (reply.is_nil()) return out;
  if (!reply.is_array()) return errc::protocol_error;
  for (auto& stream : reply.elements) {
    if (!stream.is_array() || stream.elements.size() != 2 || !append_entries(stream.elements[1], out))
      return errc::protocol_error;
  }
  return out;
}

Result<std::vector<ReadEntry>> parse_entries(Value reply) {
  std::vector<ReadEntry> out;
  if (!append_entries(reply, out)) return errc::protocol_error;
  return out;
}

Result<StreamState> parse_xinfo_stream(const Value& reply) {
  StreamState s;
  s.exists = true;
  const auto* length = field(reply, "length");
  const auto* last = field(reply, "last-generated-id");
  if (!length || !last) return errc::protocol_error;
  const auto len = uint_of(*length);
  const auto last_id = id_of(*last);
  if (!len || !last_id) return errc::protocol_error;
  s.length = *len;
  s.last_generated = *last_id;
  if (const auto* v = field(reply, "max-deleted-entry-id")) {
    if (const auto id = id_of(*v)) s.max_deleted = *id;
  }
  if (const auto* v = field(reply, "entries-added")) {
    if (const auto n = uint_of(*v)) {
      s.entries_added = *n;
      s.counts_known = field(reply, "max-deleted-entry-id") != nullptr;
    }
  }
  if (const auto* first = field(reply, "first-entry"); first && first->is_array() && !first->elements.empty()) {
    s.first_entry = id_of(first->elements[0]);
  }
  return s;
}

Result<std::vector<GroupInfo>> parse_xinfo_groups(const Value& reply) {
  std::vector<GroupInfo> out;
  if (!reply.is_array()) return errc::protocol_error;
  for (const auto& g : reply.elements) {
    const auto* name = field(g, "name");
    const auto* last = field(g, "last-delivered-id");
    if (!name || !last || !name->is_string()) return errc::protocol_error;
    const auto id = id_of(*last);
    if (!id) return errc::protocol_error;
    GroupInfo info;
    info.name = name->str;
    info.last_delivered = *id;
    if (const auto* p = field(g, "pending")) info.pending = uint_of(*p).value_or(0);
    if (const auto* c = field(g, "consumers")) info.consumers = uint_of(*c).value_or(0);
    if (const auto* r = field(g, "entries-read")) info.entries_read = uint_of(*r);
    if (const auto* l = field(g, "lag")) info.lag = uint_of(*l);
    out.push_back(std::move(info));
  }
  return out;
}

Result<std::vector<ConsumerInfo>> parse_xinfo_consumers(const Value& reply) {
  std::vector<ConsumerInfo> out;
  if (!reply.is_array()) return errc::protocol_error;
  for (const auto& c : reply.elements) {
    const auto* name = field(c, "name");
    if (!name || !name->is_string()) return errc::protocol_error;
    ConsumerInfo info;
    info.name = name->str;
    if (const auto* p = field(c, "pending")) info.pending = uint_of(*p).value_or(0);
    if (const auto* i = field(c, "idle")) info.idle_ms = uint_of(*i).value_or(0);
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace streamckpt::detail
