// streamckpt checkpoint set: both copies to a given ID (or the entry at a
// given time), after checking the stream.
#include "checkpoint_commands.hpp"
#include "checkpoint_common.hpp"
#include "checkpoint_write.hpp"
#include "commands.hpp"
#include "iso8601.hpp"
#include "redis_auth.hpp"

#include "redis/checkpoint_store.hpp"

#include <fmt/format.h>

namespace streamckpt::cli {

namespace {

// The entry at or below `id`, or nothing when the stream has none; an error
// message in `error`.
std::optional<StreamId> entry_at_or_below(Writable& w, const CheckpointKey& key, StreamId id, std::string& error) {
  auto below =
      run_sync(*w.io, w.conn->exec_one(redis::command("XREVRANGE", key.stream, id.to_string(), "-", "COUNT", "1")));
  if (!below)
    error = fmt::format("XREVRANGE {} failed: {}", key.stream, below.error().message());
  else if (below->is_error())
    error = fmt::format("XREVRANGE {} failed: {}", key.stream, below->str);
  if (!error.empty() || below->elements.empty() || below->elements[0].elements.empty()) return std::nullopt;
  return StreamId::parse(below->elements[0].elements[0].str);
}

}  // namespace

int write_checkpoint_copies(const Args& args, Writable& w, const CheckpointKey& key, StreamId id,
                            const std::optional<Checkpoint>& imported) {
  const bool dry_run = args.has("dry-run");
  std::string detail;
  std::unique_ptr<LocalStore> reader;
  if (!dry_run) {
    if (auto error = open_store(args, w); !error.empty()) return fail(error);
  } else if (store_exists(args.required("data-dir"))) {
    // A dry run opens the store read-only, and makes none.
    if (auto error = open_for_reading(args.required("data-dir"), reader); !error.empty()) return fail(error);
  }
  const auto* store = dry_run ? reader.get() : w.store.get();
  const auto local = store ? store->read(key) : CheckpointCopy{};
  const auto remote_read = run_sync(*w.io, redis::read_checkpoint(*w.conn, key, &detail));
  if (!remote_read) return fail(detail);
  const auto& remote = *remote_read;
  std::optional<Checkpoint> current;
  for (const auto* c : {&local, &remote})
    if (c->valid() && (!current || c->checkpoint->rank() > current->rank())) current = c->checkpoint;
  const bool backwards = current && id < current->id;
  if (backwards && !args.has("force"))
    return fail(
        fmt::format("refusing to move the checkpoint backwards from {} to {}: entries in between would be "
                    "handled again; pass --force to do it anyway",
                    current->id.to_string(), id.to_string()));

  Checkpoint c;
  c.key = key;
  c.id = id;
  c.epoch = current ? current->epoch + (backwards ? 1 : 0) : 0;
  c.updated_ms = now_unix_ms();
  c.metadata = current ? current->metadata : std::string{};
  c.entries_seen = current ? current->entries_seen : 0;
  if (imported) {
    // The consumer's own state travels with it; the epoch never goes back.
    c.epoch = std::max(c.epoch, imported->epoch);
    c.metadata = imported->metadata;
    c.entries_seen = imported->entries_seen;
  }
  const std::string group_part =
      key.group.empty() ? std::string{}
                        : fmt::format(
                              ", delete the pending entries of consumer '{}' and set the last-delivered-id "
                              "of group '{}' to {}",
                              key.consumer, key.group, id.to_string());
  if (dry_run) {
    fmt::print(
        "dry run: would set the checkpoint to {} (epoch {}) in both copies{} (now: local {}, redis {}); nothing "
        "was changed\n",
        id.to_string(), c.epoch, group_part, copy_text(local), copy_text(remote));
    return 0;
  }
  auto written = run_sync(*w.io, redis::write_checkpoint(*w.conn, c, "streamckpt-cli", true, false, &detail));
  if (!written)
    return fail(fmt::format("writing the Redis copy failed: {}", detail.empty() ? written.error().message() : detail));
  if (auto ec = w.store->commit({c}, nullptr, &detail))
    return fail(fmt::format("writing the local copy failed: {}", detail));
  if (!key.group.empty()) {
    // The group must deliver again, in order, what lies after the new
    // position: drop this consumer's pending entries (they would be replayed
    // first, out of order) and move the group's last-delivered-id.
    for (auto command : {redis::command("XGROUP", "DELCONSUMER", key.stream, key.group, key.consumer),
                         redis::command("XGROUP", "SETID", key.stream, key.group, id.to_string())}) {
      auto r = run_sync(*w.io, w.conn->exec_one(std::move(command)));
      if (!r) return fail(fmt::format("moving the group failed: {}", r.error().message()));
      if (r->is_error() && r->error_prefix() != std::string_view("NOGROUP"))
        return fail(fmt::format("moving the group failed: {}", r->str));
    }
  }
  fmt::print("checkpoint set to {} (epoch {}) in both copies\n", id.to_string(), c.epoch);
  return 0;
}

int checkpoint_set(const std::vector<std::string>& argv) {
  auto valued = k_redis_auth_options;
  valued.insert({"data-dir", "stream", "group", "consumer", "redis", "id", "to-datetime"});
  const Args args(argv, valued, {"force", "dry-run"});
  const auto key = parse_key(args);
  std::optional<StreamId> id;
  std::optional<std::uint64_t> at_ms;
  if (args.has("id") == args.has("to-datetime")) throw UsageError("give one of --id and --to-datetime");
  if (args.has("id")) {
    const auto id_text = args.required("id");
    id = StreamId::parse(id_text);
    if (!id)
      throw UsageError(
          fmt::format("--id '{}' is not a stream ID (expected <ms>-<seq>, e.g. 1700000000000-0)", id_text));
  } else {
    const auto text = args.required("to-datetime");
    at_ms = parse_iso8601_ms(text);
    if (!at_ms)
      throw UsageError(fmt::format(
          "--to-datetime '{}' is not an ISO 8601 date and time with a zone, from 1970 on (e.g. 2026-01-31T12:00:00Z "
          "or 2026-01-31T13:00:00.250+01:00)",
          text));
  }
  // The stream is checked before the store is opened: a refused set leaves
  // no new store behind at a mistyped --data-dir.
  Writable w;
  if (auto error = open_redis(args, w); !error.empty()) return fail(error);
  std::string detail;
  if (run_sync(*w.io, w.conn->connect(&detail))) return fail(detail);
  std::string error;
  if (at_ms) {
    if (error = check_stream(w, key, StreamId::min()); !error.empty()) return fail(error);
    // Every entry up to that time counts as handled: the checkpoint is the
    // last one at or before it.
    const auto entry = entry_at_or_below(w, key, StreamId{*at_ms, UINT64_MAX}, error);
    if (!error.empty()) return fail(error);
    id = entry.value_or(StreamId::min());
    if (entry)
      fmt::print("--to-datetime {} is {} ms: the last entry at or before it is {}\n", args.required("to-datetime"),
                 *at_ms, id->to_string());
    else
      fmt::print("--to-datetime {} is {} ms: no entry is at or before it; setting 0-0 (before the first entry)\n",
                 args.required("to-datetime"), *at_ms);
  } else {
    if (error = check_stream(w, key, *id); !error.empty()) return fail(error);
    // An ID between entries stands for the entry at or below it (no entry can
    // be added between them any more). Start-up takes a checkpoint that names
    // an entry the stream lacks, not trimmed nor deleted, as the stream having
    // gone backwards: the checkpoint names the entry itself.
    const auto entry = entry_at_or_below(w, key, *id, error);
    if (!error.empty()) return fail(error);
    if (entry && *entry < *id) {
      fmt::print("--id {} lies between entries: setting the entry at or below it, {}\n", id->to_string(),
                 entry->to_string());
      id = *entry;
    }
  }
  return write_checkpoint_copies(args, w, key, *id, std::nullopt);
}

}  // namespace streamckpt::cli
