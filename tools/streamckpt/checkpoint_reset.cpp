// streamckpt checkpoint reset: delete both copies.
#include "checkpoint_commands.hpp"
#include "checkpoint_common.hpp"
#include "checkpoint_write.hpp"
#include "commands.hpp"

#include "consumer/stream_reply.hpp"
#include "redis/checkpoint_store.hpp"

#include <fmt/format.h>

namespace streamckpt::cli {

namespace {

// The group keeps its own position: the next start reads after it, whatever
// --start says, so entries before it do not come again (and a file sink's
// file starts empty).
void print_group_position(Writable& w, const CheckpointKey& key) {
  if (key.group.empty()) return;
  auto reply = run_sync(*w.io, w.conn->exec_one(redis::command("XINFO", "GROUPS", key.stream)));
  if (!reply || reply->is_error()) return;
  auto groups = detail::parse_xinfo_groups(*reply);
  if (!groups) return;
  for (const auto& g : *groups)
    if (g.name == key.group && StreamId::min() < g.last_delivered)
      fmt::print(
          "group '{}' keeps its position: the next start reads after {}, whatever --start says, and a file sink's "
          "file starts empty; to read the entries before it again, move the group back with 'XGROUP SETID {} {} "
          "0' (which hands its other consumers' entries out again too)\n",
          g.name, g.last_delivered.to_string(), key.stream, key.group);
}

}  // namespace

int checkpoint_reset(const std::vector<std::string>& argv) {
  const Args args(argv, {"data-dir", "stream", "group", "consumer", "redis", "redis-user", "redis-password-file"},
                  {"force", "dry-run"});
  const auto key = parse_key(args);
  // A mistyped --data-dir would otherwise get a new, empty store, and only the
  // Redis copy would go: the real local copy would win at the next start.
  const std::filesystem::path dir = args.required("data-dir");
  const bool has_store = store_exists(dir);
  if (!has_store && !args.has("force"))
    return fail(
        fmt::format("no checkpoint store in {}; nothing was deleted. Check --data-dir, or pass --force to delete "
                    "the Redis copy alone",
                    dir.string()));
  Writable w;
  if (auto error = open_redis(args, w); !error.empty()) return fail(error);
  if (args.has("dry-run")) {
    std::unique_ptr<LocalStore> reader;
    if (has_store)
      if (auto error = open_for_reading(dir, reader); !error.empty()) return fail(error);
    std::string detail;
    if (run_sync(*w.io, w.conn->connect(&detail))) return fail(detail);
    const auto remote = run_sync(*w.io, redis::read_checkpoint(*w.conn, key, &detail));
    if (!remote) return fail(detail);
    fmt::print("dry run: would delete the checkpoint of {} from {} (local: {}, redis: {}); nothing was changed\n",
               key.describe(), has_store ? "both copies" : "the Redis copy",
               reader ? copy_text(reader->read(key)) : "no store in " + dir.string(), copy_text(*remote));
    return 0;
  }
  if (has_store)
    if (auto error = open_store(args, w); !error.empty()) return fail(error);
  std::string detail;
  if (run_sync(*w.io, w.conn->connect(&detail))) return fail(detail);
  auto deleted = run_sync(*w.io, w.conn->exec_one(redis::command("DEL", redis::checkpoint_hash_key(key))));
  if (!deleted || deleted->is_error()) {
    const auto why =
        !deleted ? (deleted.error() == errc::redis_not_ready
                        ? fmt::format("{} is not ready: {}", w.conn->url().redacted(), w.conn->not_ready_reply())
                        : deleted.error().message())
                 : deleted->str;
    return fail(fmt::format("deleting the Redis copy failed: {}; nothing was deleted", why));
  }
  if (!w.store) {
    fmt::print("checkpoint of {} deleted from the Redis copy (no store in {})\n", key.describe(), dir.string());
    print_group_position(w, key);
    return 0;
  }
  if (auto ec = w.store->remove(key)) return fail(fmt::format("deleting the local copy failed: {}", ec.message()));
  fmt::print("checkpoint of {} deleted from both copies\n", key.describe());
  print_group_position(w, key);
  return 0;
}

}  // namespace streamckpt::cli
