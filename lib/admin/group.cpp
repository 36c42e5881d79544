// admin::describe_group(): a group's members and their checkpoints.
#include "admin/rank.hpp"
#include "admin/stores.hpp"
#include "admin/sync_redis.hpp"
#include "consumer/stream_reply.hpp"

#include <streamckpt/admin.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace streamckpt::admin {

Outcome<GroupDescription> describe_group(const Place& place, const std::string& stream, const std::string& group) {
  std::unique_ptr<LocalStore> store;
  if (!place.data_dir.empty()) {
    auto opened = detail::open_for_reading(place.data_dir);
    if (!opened) return opened.error();
    store = std::move(*opened);
  }
  detail::SyncRedis redis;
  if (auto problem = redis.connect(place.redis_url, stream)) return problem;
  GroupDescription out;
  auto state = redis.stream_state(stream);
  if (!state) return state.error();
  if (!state->exists) return Problem{errc::stream_missing, fmt::format("stream '{}' does not exist", stream)};
  out.stream = *state;

  auto groups_reply = redis.exec(redis::command("XINFO", "GROUPS", stream), "XINFO GROUPS " + stream);
  if (!groups_reply) return groups_reply.error();
  if (groups_reply->is_error())
    return Problem{errc::redis_error, fmt::format("XINFO GROUPS {} failed: {}", stream, groups_reply->str)};
  auto groups = streamckpt::detail::parse_xinfo_groups(*groups_reply);
  if (!groups) return Problem{errc::protocol_error, fmt::format("unexpected XINFO GROUPS {} reply", stream)};
  const auto g = std::find_if(groups->begin(), groups->end(), [&](const auto& info) { return info.name == group; });
  if (g == groups->end()) return Problem{errc::no_group, fmt::format("stream '{}' has no group '{}'", stream, group)};
  out.group = {g->name, g->last_delivered, g->pending, g->consumers, g->entries_read, g->lag};

  auto consumers_reply = redis.exec(redis::command("XINFO", "CONSUMERS", stream, group),
                                    fmt::format("XINFO CONSUMERS {} {}", stream, group));
  if (!consumers_reply) return consumers_reply.error();
  if (consumers_reply->is_error())
    return Problem{errc::redis_error,
                   fmt::format("XINFO CONSUMERS {} {} failed: {}", stream, group, consumers_reply->str)};
  auto consumers = streamckpt::detail::parse_xinfo_consumers(*consumers_reply);
  if (!consumers)
    return Problem{errc::protocol_error, fmt::format("unexpected XINFO CONSUMERS {} {} reply", stream, group)};
  for (auto& c : *consumers) {
    GroupMember m;
    m.name = std::move(c.name);
    m.pending = c.pending;
    m.idle_ms = c.idle_ms;
    const CheckpointKey key{stream, group, m.name};
    auto copy = redis.read_copy(key);
    if (!copy) return copy.error();
    m.redis = std::move(*copy);
    if (store) m.local = store->read(key);
    if (const auto* best = detail::higher_valid(m.redis, m.local ? &*m.local : nullptr); best && state->counts_known)
      m.lag = state->entries_added - std::min(state->entries_added, best->entries_seen);
    out.members.push_back(std::move(m));
  }
  return out;
}

}  // namespace streamckpt::admin
