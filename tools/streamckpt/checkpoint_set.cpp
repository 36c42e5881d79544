// streamckpt checkpoint set: both copies to a given ID, after checking the stream.
#include "checkpoint_commands.hpp"
#include "checkpoint_common.hpp"
#include "checkpoint_write.hpp"
#include "commands.hpp"

#include "redis/checkpoint_store.hpp"

#include <fmt/format.h>

namespace streamckpt::cli {

int checkpoint_set(const std::vector<std::string>& argv) {
  const Args args(argv, {"data-dir", "stream", "group", "consumer", "redis", "redis-user", "redis-password-file", "id"},
                  {"force"});
  const auto key = parse_key(args);
  const auto id_text = args.required("id");
  auto id = StreamId::parse(id_text);
  if (!id)
    throw UsageError(fmt::format("--id '{}' is not a stream ID (expected <ms>-<seq>, e.g. 1700000000000-0)", id_text));
  // The stream is checked before the store is opened: a refused set leaves
  // no new store behind at a mistyped --data-dir.
  Writable w;
  if (auto error = open_redis(args, w); !error.empty()) return fail(error);
  std::string detail;
  if (run_sync(*w.io, w.conn->connect(&detail))) return fail(detail);
  if (auto error = check_stream(w, key, *id); !error.empty()) return fail(error);
  // An ID between entries stands for the entry at or below it (no entry can
  // be added between them any more). Start-up takes a checkpoint that names
  // an entry the stream lacks, not trimmed nor deleted, as the stream having
  // gone backwards: the checkpoint names the entry itself.
  auto below =
      run_sync(*w.io, w.conn->exec_one(redis::command("XREVRANGE", key.stream, id->to_string(), "-", "COUNT", "1")));
  if (!below) return fail(fmt::format("XREVRANGE {} failed: {}", key.stream, below.error().message()));
  if (below->is_error()) return fail(fmt::format("XREVRANGE {} failed: {}", key.stream, below->str));
  if (!below->elements.empty() && !below->elements[0].elements.empty()) {
    if (const auto entry = StreamId::parse(below->elements[0].elements[0].str); entry && *entry < *id) {
      fmt::print("--id {} lies between entries: setting the entry at or below it, {}\n", id->to_string(),
                 entry->to_string());
      id = *entry;
    }
  }
  if (auto error = open_store(args, w); !error.empty()) return fail(error);

  const auto local = w.store->read(key);
  const auto remote_read = run_sync(*w.io, redis::read_checkpoint(*w.conn, key, &detail));
  if (!remote_read) return fail(detail);
  const auto& remote = *remote_read;
  std::optional<Checkpoint> current;
  for (const auto* c : {&local, &remote})
    if (c->valid() && (!current || c->checkpoint->rank() > current->rank())) current = c->checkpoint;
  const bool backwards = current && *id < current->id;
  if (backwards && !args.has("force"))
    return fail(
        fmt::format("refusing to move the checkpoint backwards from {} to {}: entries in between would be "
                    "handled again; pass --force to do it anyway",
                    current->id.to_string(), id->to_string()));

  Checkpoint c;
  c.key = key;
  c.id = *id;
  c.epoch = current ? current->epoch + (backwards ? 1 : 0) : 0;
  c.updated_ms = now_unix_ms();
  c.metadata = current ? current->metadata : std::string{};
  c.entries_seen = current ? current->entries_seen : 0;
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
                         redis::command("XGROUP", "SETID", key.stream, key.group, id->to_string())}) {
      auto r = run_sync(*w.io, w.conn->exec_one(std::move(command)));
      if (!r) return fail(fmt::format("moving the group failed: {}", r.error().message()));
      if (r->is_error() && r->error_prefix() != std::string_view("NOGROUP"))
        return fail(fmt::format("moving the group failed: {}", r->str));
    }
  }
  fmt::print("checkpoint set to {} (epoch {}) in both copies\n", id->to_string(), c.epoch);
  return 0;
}

}  // namespace streamckpt::cli
