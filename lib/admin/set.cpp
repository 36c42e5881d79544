// admin::set(): both copies to a position, by the epoch rule.
#include "admin/rank.hpp"
#include "admin/stores.hpp"
#include "admin/sync_redis.hpp"
#include "consumer/stream_reply.hpp"
#include "redis/checkpoint_store.hpp"

#include <streamckpt/admin.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace streamckpt::admin {
namespace {

// A checkpoint beyond the stream's last-generated-id would skip the entries
// added later up to it, and one on a missing stream reads as the stream
// having gone backwards.
Problem check_stream(detail::SyncRedis& redis, const CheckpointKey& key, StreamId id) {
  auto type = redis.exec(redis::command("TYPE", key.stream), "TYPE " + key.stream);
  if (!type) return type.error();
  if (type->is_error()) return {errc::redis_error, fmt::format("TYPE {} failed: {}", key.stream, type->str)};
  if (type->str == "none")
    return {errc::stream_missing, fmt::format("stream '{}' does not exist; nothing was changed", key.stream)};
  if (type->str != "stream")
    return {errc::wrong_type,
            fmt::format("key '{}' holds a {}, not a stream (WRONGTYPE); nothing was changed", key.stream, type->str)};
  auto state = redis.stream_state(key.stream);
  if (!state) return state.error();
  if (state->last_generated < id)
    return {errc::beyond_stream,
            fmt::format("--id {} is beyond the last-generated-id of stream '{}' ({}): entries added later up to it "
                        "would be skipped; nothing was changed",
                        id.to_string(), key.stream, state->last_generated.to_string())};
  return {};
}

// The entry at or below `id`; nullopt when the stream has none.
Outcome<std::optional<StreamId>> entry_at_or_below(detail::SyncRedis& redis, const CheckpointKey& key, StreamId id) {
  auto below =
      redis.exec(redis::command("XREVRANGE", key.stream, id.to_string(), "-", "COUNT", "1"), "XREVRANGE " + key.stream);
  if (!below) return below.error();
  if (below->is_error())
    return Problem{errc::redis_error, fmt::format("XREVRANGE {} failed: {}", key.stream, below->str)};
  if (below->elements.empty() || below->elements[0].elements.empty()) return std::optional<StreamId>{};
  return StreamId::parse(below->elements[0].elements[0].str);
}

// Where the request puts the checkpoint, after checking the stream.
Problem resolve_position(detail::SyncRedis& redis, const CheckpointKey& key, const SetRequest& request,
                         SetOutcome& out) {
  if (request.at_ms) {
    if (auto problem = check_stream(redis, key, StreamId::min())) return problem;
    // Every entry up to that time counts as handled: the checkpoint is the
    // last one at or before it.
    auto entry = entry_at_or_below(redis, key, StreamId{*request.at_ms, UINT64_MAX});
    if (!entry) return entry.error();
    out.entry_at_time = *entry;
    out.id = entry->value_or(StreamId::min());
    return {};
  }
  out.id = *request.id;
  if (auto problem = check_stream(redis, key, out.id)) return problem;
  if (request.imported) return {};
  // An ID between entries stands for the entry at or below it (no entry can
  // be added between them any more). Start-up takes a checkpoint that names
  // an entry the stream lacks, not trimmed nor deleted, as the stream having
  // gone backwards: the checkpoint names the entry itself.
  auto entry = entry_at_or_below(redis, key, out.id);
  if (!entry) return entry.error();
  if (*entry && **entry < out.id) {
    out.id = **entry;
    out.moved_to_entry = true;
  }
  return {};
}

// The group must deliver again, in order, what lies after the new position:
// drop this consumer's pending entries (they would be replayed first, out of
// order) and move the group's last-delivered-id.
Problem move_group(detail::SyncRedis& redis, const CheckpointKey& key, StreamId id) {
  for (auto command : {redis::command("XGROUP", "DELCONSUMER", key.stream, key.group, key.consumer),
                       redis::command("XGROUP", "SETID", key.stream, key.group, id.to_string())}) {
    auto r = redis.exec(std::move(command), "moving the group");
    if (!r) return r.error();
    if (r->is_error() && r->error_prefix() != std::string_view("NOGROUP"))
      return {errc::redis_error, fmt::format("moving the group failed: {}", r->str)};
  }
  return {};
}

}  // namespace

Outcome<SetOutcome> set(const Place& place, const CheckpointKey& key, const SetRequest& request) {
  if (request.id.has_value() == request.at_ms.has_value())
    return Problem{errc::invalid_options, "give one of an ID and a time"};
  if (auto ec = key.validate()) return Problem{ec, fmt::format("invalid checkpoint key {}", key.describe())};
  // The stream is checked before the store is opened: a refused set leaves
  // no new store behind at a mistyped data directory.
  detail::SyncRedis redis;
  if (auto problem = redis.connect(place.redis_url, key.stream)) return problem;
  SetOutcome out;
  if (auto problem = resolve_position(redis, key, request, out)) return problem;

  // A dry run opens the store read-only, and makes none.
  std::unique_ptr<LocalStore> store;
  if (!request.dry_run || detail::store_exists(place.data_dir)) {
    auto opened = request.dry_run ? detail::open_for_reading(place.data_dir) : detail::open_for_writing(place.data_dir);
    if (!opened) return opened.error();
    store = std::move(*opened);
  }
  if (store) out.local_before = store->read(key);
  auto remote = redis.read_copy(key);
  if (!remote) return remote.error();
  out.redis_before = *remote;

  const Checkpoint* current = detail::higher_valid(out.local_before, &out.redis_before);
  const bool backwards = current && out.id < current->id;
  if (backwards && !request.force)
    return Problem{errc::backwards_refused,
                   fmt::format("refusing to move the checkpoint backwards from {} to {}: entries in between would be "
                               "handled again; pass --force to do it anyway",
                               current->id.to_string(), out.id.to_string())};
  Checkpoint c;
  c.key = key;
  c.id = out.id;
  c.epoch = current ? current->epoch + (backwards ? 1 : 0) : 0;
  c.updated_ms = now_unix_ms();
  c.metadata = current ? current->metadata : std::string{};
  c.entries_seen = current ? current->entries_seen : 0;
  if (request.imported) {
    // The consumer's own state travels with it; the epoch never goes back.
    c.epoch = std::max(c.epoch, request.imported->epoch);
    c.metadata = request.imported->metadata;
    c.entries_seen = request.imported->entries_seen;
  }
  out.epoch = c.epoch;
  if (request.dry_run) return out;

  std::string detail;
  auto written = redis.run(redis::write_checkpoint(redis.connection(), c, "streamckpt-cli", true, false, &detail));
  if (!written)
    return Problem{written.error(), fmt::format("writing the Redis copy failed: {}",
                                                detail.empty() ? written.error().message() : detail)};
  if (auto ec = store->commit({c}, nullptr, &detail))
    return Problem{ec, fmt::format("writing the local copy failed: {}", detail)};
  if (!key.plain()) {
    if (auto problem = move_group(redis, key, out.id)) return problem;
    out.group_moved = true;
  }
  return out;
}

}  // namespace streamckpt::admin
