#include "redis/cluster.hpp"

#include <boost/crc.hpp>

#include <fmt/format.h>

#include <charconv>

namespace streamckpt::redis {
namespace {

using Crc16 = boost::crc_optimal<16, 0x1021, 0, 0, false, false>;  // XMODEM, as Redis Cluster hashes

// A field of a RESP2 map (a flat array of names and values).
const Value* field(const Value& map, std::string_view name) {
  if (!map.is_array()) return nullptr;
  for (std::size_t i = 0; i + 1 < map.elements.size(); i += 2)
    if (map.elements[i].is_string() && map.elements[i].str == name) return &map.elements[i + 1];
  return nullptr;
}

std::optional<long long> number(const Value* v) {
  if (!v) return std::nullopt;
  if (v->type == Value::Type::integer) return v->integer;
  if (!v->is_string()) return std::nullopt;
  long long n = 0;
  const auto [end, ec] = std::from_chars(v->str.data(), v->str.data() + v->str.size(), n);
  if (ec != std::errc{} || end != v->str.data() + v->str.size()) return std::nullopt;
  return n;
}

std::string text(const Value* v) { return v && v->is_string() ? v->str : std::string{}; }

bool holds(const Value& shard, std::uint16_t slot) {
  const auto* slots = field(shard, "slots");
  if (!slots || !slots->is_array()) return false;
  for (std::size_t i = 0; i + 1 < slots->elements.size(); i += 2) {
    const auto from = number(&slots->elements[i]), to = number(&slots->elements[i + 1]);
    if (from && to && *from <= slot && slot <= *to) return true;
  }
  return false;
}

std::optional<std::uint16_t> port_of(std::string_view text) {
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc{} || end != text.data() + text.size() || port == 0 || port > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(port);
}

}  // namespace

std::optional<std::string_view> hash_tag(std::string_view key) {
  const auto open = key.find('{');
  if (open == std::string_view::npos) return std::nullopt;
  const auto close = key.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) return std::nullopt;
  return key.substr(open + 1, close - open - 1);
}

std::uint16_t key_slot(std::string_view key) {
  const auto hashed = hash_tag(key).value_or(key);
  Crc16 crc;
  crc.process_bytes(hashed.data(), hashed.size());
  return static_cast<std::uint16_t>(crc.checksum() % k_cluster_slots);
}

Command shards_command() { return {"CLUSTER", "SHARDS"}; }

Result<Url::Address> slot_master(const Value& shards, std::uint16_t slot, std::string* why) {
  const auto fail = [&](std::string reason) -> Result<Url::Address> {
    if (why) *why = std::move(reason);
    return errc::redis_not_ready;
  };
  if (shards.is_error()) return fail(fmt::format("CLUSTER SHARDS refused: {}", shards.str));
  if (!shards.is_array()) return fail("an unexpected reply to CLUSTER SHARDS");
  for (const auto& shard : shards.elements) {
    if (!holds(shard, slot)) continue;
    const auto* nodes = field(shard, "nodes");
    if (!nodes || !nodes->is_array()) return fail("an unexpected reply to CLUSTER SHARDS");
    for (const auto& node : nodes->elements) {
      if (text(field(node, "role")) != "master") continue;
      if (const auto health = text(field(node, "health")); health != "online")
        return fail(fmt::format("the master of slot {} is {} (a failover may be in progress)", slot,
                                health.empty() ? "of unknown health" : health));
      auto host = text(field(node, "endpoint"));
      if (host.empty() || host == "?") host = text(field(node, "ip"));
      const auto port = number(field(node, "port"));
      if (host.empty() || !port || *port < 1 || *port > 65535)
        return fail(fmt::format("the master of slot {} has no address in CLUSTER SHARDS", slot));
      return Url::Address{std::move(host), static_cast<std::uint16_t>(*port)};
    }
    return fail(fmt::format("slot {} has no master (a failover may be in progress)", slot));
  }
  return fail(fmt::format("no node serves slot {} (the cluster is not fully set up)", slot));
}

std::optional<Redirect> redirect_of(const Value& reply) {
  if (!reply.is_error()) return std::nullopt;
  // "MOVED <slot> <host>:<port>", "ASK <slot> <host>:<port>"; an IPv6 host
  // keeps its colons: the port is after the last one.
  const std::string_view text = reply.str;
  Redirect r;
  std::string_view rest;
  if (text.starts_with("MOVED ")) {
    rest = text.substr(6);
  } else if (text.starts_with("ASK ")) {
    r.kind = Redirect::Kind::ask;
    rest = text.substr(4);
  } else {
    return std::nullopt;
  }
  const auto space = rest.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  unsigned slot = 0;
  const auto slot_text = rest.substr(0, space);
  const auto [end, ec] = std::from_chars(slot_text.data(), slot_text.data() + slot_text.size(), slot);
  if (ec != std::errc{} || end != slot_text.data() + slot_text.size() || slot >= k_cluster_slots) return std::nullopt;
  r.slot = static_cast<std::uint16_t>(slot);
  const auto address = rest.substr(space + 1);
  const auto colon = address.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const auto port = port_of(address.substr(colon + 1));
  if (!port) return std::nullopt;
  r.to = {std::string(address.substr(0, colon)), *port};
  return r;
}

}  // namespace streamckpt::redis
