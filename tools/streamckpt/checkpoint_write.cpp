#include "checkpoint_write.hpp"

#include "redis_auth.hpp"

#include "consumer/stream_reply.hpp"

#include <fmt/format.h>

namespace streamckpt::cli {

std::string open_redis(const Args& args, Writable& w) {
  std::string why;
  auto url = redis::Url::parse(redis_url_with_credentials(args, args.required("redis")), &why);
  if (!url) return fmt::format("invalid Redis URL '{}': {}", redis::Url::redact(args.required("redis")), why);
  w.io.emplace();
  w.conn = std::make_unique<redis::Connection>(w.io->get_executor(), *url, redis::ConnectionOptions{});
  return {};
}

std::string open_store(const Args& args, Writable& w) {
  const std::filesystem::path dir = args.required("data-dir");
  LocalStoreOptions options;
  options.dir = dir;
  std::string detail;
  auto store = LocalStore::open(options, &detail);
  if (!store)
    return store.error() == errc::store_locked
               ? fmt::format("data directory {} is held by another process; stop the consumer first", dir.string())
               : fmt::format("cannot open {}: {}", dir.string(), detail);
  w.store = std::move(*store);
  return {};
}

// A checkpoint beyond the stream's last-generated-id would skip the entries
// added later up to it, and one on a missing stream reads as the stream
// having gone backwards.
std::string check_stream(Writable& w, const CheckpointKey& key, StreamId id) {
  auto type = run_sync(*w.io, w.conn->exec_one(redis::command("TYPE", key.stream)));
  if (!type) return fmt::format("TYPE {} failed: {}", key.stream, type.error().message());
  if (type->is_error()) return fmt::format("TYPE {} failed: {}", key.stream, type->str);
  if (type->str == "none") return fmt::format("stream '{}' does not exist; nothing was changed", key.stream);
  if (type->str != "stream")
    return fmt::format("key '{}' holds a {}, not a stream (WRONGTYPE); nothing was changed", key.stream, type->str);
  auto info = run_sync(*w.io, w.conn->exec_one(redis::command("XINFO", "STREAM", key.stream)));
  if (!info) return fmt::format("XINFO STREAM {} failed: {}", key.stream, info.error().message());
  if (info->is_error()) return fmt::format("XINFO STREAM {} failed: {}", key.stream, info->str);
  const auto state = detail::parse_xinfo_stream(*info);
  if (!state) return fmt::format("unexpected XINFO STREAM {} reply", key.stream);
  if (state->last_generated < id)
    return fmt::format(
        "--id {} is beyond the last-generated-id of stream '{}' ({}): entries added later up to it would be "
        "skipped; nothing was changed",
        id.to_string(), key.stream, state->last_generated.to_string());
  return {};
}

}  // namespace streamckpt::cli
