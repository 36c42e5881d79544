// admin::reset(): both copies deleted, the Redis one first.
#include "admin/stores.hpp"
#include "admin/sync_redis.hpp"
#include "consumer/stream_reply.hpp"
#include "redis/checkpoint_store.hpp"

#include <streamckpt/admin.hpp>

#include <fmt/format.h>

namespace streamckpt::admin {
namespace {

// The group keeps its own position: the next start reads after it. Unknown
// (nullopt) when XINFO GROUPS fails: it only informs.
std::optional<StreamId> group_position(detail::SyncRedis& redis, const CheckpointKey& key) {
  if (key.plain()) return std::nullopt;
  auto reply = redis.exec(redis::command("XINFO", "GROUPS", key.stream), "XINFO GROUPS " + key.stream);
  if (!reply || reply->is_error()) return std::nullopt;
  auto groups = streamckpt::detail::parse_xinfo_groups(*reply);
  if (!groups) return std::nullopt;
  for (const auto& g : *groups)
    if (g.name == key.group && StreamId::min() < g.last_delivered) return g.last_delivered;
  return std::nullopt;
}

}  // namespace

Outcome<ResetOutcome> reset(const Place& place, const CheckpointKey& key, const ResetRequest& request) {
  if (auto ec = key.validate()) return Problem{ec, fmt::format("invalid checkpoint key {}", key.describe())};
  ResetOutcome out;
  out.store_found = detail::store_exists(place.data_dir);
  // A mistyped data directory would otherwise get a new, empty store, and
  // only the Redis copy would go: the real local copy would win at the next
  // start.
  if (!out.store_found && !request.force)
    return Problem{errc::no_store,
                   fmt::format("no checkpoint store in {}; nothing was deleted. Check --data-dir, or pass --force to "
                               "delete the Redis copy alone",
                               place.data_dir.string())};
  std::unique_ptr<LocalStore> store;
  if (out.store_found) {
    auto opened = request.dry_run ? detail::open_for_reading(place.data_dir) : detail::open_for_writing(place.data_dir);
    if (!opened) return opened.error();
    store = std::move(*opened);
    out.local_before = store->read(key);
  }
  detail::SyncRedis redis;
  if (auto problem = redis.connect(place.redis_url, key.stream)) return problem;
  auto remote = redis.read_copy(key);
  if (!remote) return remote.error();
  out.redis_before = *remote;
  if (request.dry_run) return out;

  auto deleted = redis.exec(redis::command("DEL", redis::checkpoint_hash_key(key)), "deleting the Redis copy");
  if (!deleted) return Problem{deleted.error().code, deleted.error().detail + "; nothing was deleted"};
  if (deleted->is_error())
    return Problem{errc::redis_error,
                   fmt::format("deleting the Redis copy failed: {}; nothing was deleted", deleted->str)};
  if (store)
    if (auto ec = store->remove(key))
      return Problem{ec, fmt::format("deleting the local copy failed: {}", ec.message())};
  out.group_position = group_position(redis, key);
  return out;
}

}  // namespace streamckpt::admin
