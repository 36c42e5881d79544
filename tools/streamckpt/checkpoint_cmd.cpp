// streamckpt checkpoint show|list|set|reset: one consumer's checkpoint, in both
// copies.
#include "args.hpp"
#include "commands.hpp"
#include "json.hpp"

#include "consumer/resume.hpp"
#include "consumer/stream_reply.hpp"
#include "redis/checkpoint_store.hpp"

#include <streamckpt/local_store.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <fmt/format.h>

namespace streamckpt::cli {
namespace {

namespace asio = boost::asio;

CheckpointKey parse_key(const Args& args) {
  CheckpointKey key;
  key.stream = args.name("stream");
  key.group = args.name("group");
  key.consumer = args.name("consumer");
  return key;
}

std::string copy_json(const CheckpointCopy& c) {
  switch (c.state) {
    case CheckpointCopy::State::absent:
      return "null";
    case CheckpointCopy::State::valid:
      return fmt::format(R"({{"id":"{}","valid":true,"reason":null,"epoch":{},"updated_ms":{},"metadata":{}}})",
                         c.checkpoint->id.to_string(), c.checkpoint->epoch, c.checkpoint->updated_ms,
                         json_string(c.checkpoint->metadata));
    case CheckpointCopy::State::invalid:
      return fmt::format(R"({{"id":null,"valid":false,"reason":{}}})", json_string(c.reason));
  }
  return "null";
}

std::string copy_text(const CheckpointCopy& c) {
  switch (c.state) {
    case CheckpointCopy::State::absent:
      return "absent";
    case CheckpointCopy::State::valid:
      return fmt::format("{} (valid, epoch {})", c.checkpoint->id.to_string(), c.checkpoint->epoch);
    case CheckpointCopy::State::invalid:
      return fmt::format("invalid: {}", c.reason);
  }
  return {};
}

struct RedisView {
  CheckpointCopy copy;
  StreamState stream;
};

// Reads the Redis copy and the stream's state; an error message on failure.
asio::awaitable<std::string> read_redis(const std::string& url_text, const CheckpointKey& key, RedisView& out) {
  std::string why;
  auto url = redis::Url::parse(url_text, &why);
  if (!url) co_return fmt::format("invalid Redis URL '{}': {}", redis::Url::redact(url_text), why);
  auto ex = co_await asio::this_coro::executor;
  redis::Connection conn(ex, *url, {});
  std::string detail;
  if (auto ec = co_await conn.connect(&detail)) co_return detail;
  auto copy = co_await redis::read_checkpoint(conn, key, &detail);
  if (!copy) co_return detail;
  out.copy = std::move(*copy);
  auto info = co_await conn.exec_one(redis::command("XINFO", "STREAM", key.stream));
  if (!info) co_return fmt::format("XINFO STREAM failed: {}", info.error().message());
  if (info->is_error()) {
    if (info->str.find("no such key") == std::string::npos)
      co_return fmt::format("XINFO STREAM {} failed: {}", key.stream, info->str);
    co_return std::string{};
  }
  auto state = detail::parse_xinfo_stream(*info);
  if (!state) co_return "unexpected XINFO STREAM reply";
  out.stream = *state;
  co_return std::string{};
}

// Opens an existing store without its lock, so that it works beside a running
// consumer. Returns an error message, or "".
std::string open_for_reading(const std::filesystem::path& dir, std::unique_ptr<LocalStore>& store) {
  if (!std::filesystem::exists(dir / "CURRENT"))
    return fmt::format("no checkpoint store in {} (nothing was consumed with this --data-dir)", dir.string());
  LocalStoreOptions options;
  options.dir = dir;
  options.read_only = true;
  std::string detail;
  auto opened = LocalStore::open(options, &detail);
  if (!opened) return fmt::format("cannot open {}: {}", dir.string(), detail);
  store = std::move(*opened);
  return {};
}

int show(const std::vector<std::string>& argv) {
  const Args args(argv, {"data-dir", "stream", "group", "consumer", "redis"}, {"json"});
  const auto key = parse_key(args);
  const std::filesystem::path dir = args.required("data-dir");
  const auto redis_url = args.optional("redis");

  std::unique_ptr<LocalStore> store;
  if (auto error = open_for_reading(dir, store); !error.empty()) return fail(error);

  detail::ResumeInputs in;
  in.local = store->read(key);
  std::optional<CheckpointCopy> redis_copy;
  if (redis_url) {
    RedisView view;
    asio::io_context io;
    auto done = asio::co_spawn(io, read_redis(*redis_url, key, view), asio::use_future);
    io.run();
    if (auto error = done.get(); !error.empty()) return fail(error);
    in.redis = view.copy;
    in.stream = view.stream;
  } else {
    // Without Redis the stream cannot be checked: judge the local copy alone.
    in.stream.exists = true;
    in.stream.last_generated = StreamId::max();
  }
  const auto decided = detail::decide_resume(in);
  std::optional<StreamId> effective;
  if (decided && (decided->source == ResumeReport::Source::local || decided->source == ResumeReport::Source::redis))
    effective = decided->position;
  const auto& local = decided ? decided->local : in.local;
  const auto& redis = decided ? decided->redis : in.redis;

  if (args.has("json")) {
    fmt::print(R"({{"local":{},"redis":{},"effective":{}}})"
               "\n",
               copy_json(local), redis_url ? copy_json(redis) : "null",
               effective ? json_string(effective->to_string()) : "null");
  } else {
    fmt::print("local:     {}\n", copy_text(local));
    fmt::print("redis:     {}\n", redis_url ? copy_text(redis) : "not read (no --redis)");
    fmt::print("effective: {}\n", effective ? effective->to_string() : "none");
  }
  return 0;
}

int list(const std::vector<std::string>& argv) {
  const Args args(argv, {"data-dir"}, {"json"});
  const std::filesystem::path dir = args.required("data-dir");
  std::unique_ptr<LocalStore> store;
  if (auto error = open_for_reading(dir, store); !error.empty()) return fail(error);
  std::size_t undecodable = 0;
  const auto all = store->list(&undecodable);
  if (args.has("json")) {
    std::string out = "[";
    for (const auto& l : all) {
      if (out.size() > 1) out += ",";
      out += fmt::format(R"({{"stream":{},"group":{},"consumer":{},"id":{},"valid":{},"reason":{}}})",
                         json_string(l.key.stream), l.key.group.empty() ? "null" : json_string(l.key.group),
                         json_string(l.key.consumer),
                         l.copy.valid() ? json_string(l.copy.checkpoint->id.to_string()) : "null",
                         l.copy.valid() ? "true" : "false", l.copy.valid() ? "null" : json_string(l.copy.reason));
    }
    fmt::print("{}]\n", out);
  } else {
    for (const auto& l : all)
      fmt::print("{}\t{}\t{}\t{}\n", l.key.stream, l.key.group.empty() ? "-" : l.key.group, l.key.consumer,
                 copy_text(l.copy));
  }
  if (undecodable) fmt::print(stderr, "streamckpt: {} keys in the store could not be decoded\n", undecodable);
  return 0;
}

// The store for writing and the Redis connection: what set and reset need.
struct Writable {
  std::unique_ptr<LocalStore> store;
  std::optional<asio::io_context> io;
  std::unique_ptr<redis::Connection> conn;
};

// The Redis connection (not yet connected). Returns an error message or "".
std::string open_redis(const Args& args, Writable& w) {
  std::string why;
  auto url = redis::Url::parse(args.required("redis"), &why);
  if (!url) return fmt::format("invalid Redis URL '{}': {}", redis::Url::redact(args.required("redis")), why);
  w.io.emplace();
  w.conn = std::make_unique<redis::Connection>(w.io->get_executor(), *url, redis::ConnectionOptions{});
  return {};
}

// The store, for writing, created when missing. Returns an error message or "".
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

template <class T>
T run_sync(asio::io_context& io, asio::awaitable<T> op) {
  // Runs handlers only until `op` is done: the connection's reader stays
  // pending in between.
  auto done = asio::co_spawn(io, std::move(op), asio::use_future);
  io.restart();
  while (done.wait_for(std::chrono::seconds(0)) != std::future_status::ready) io.run_one();
  return done.get();
}

// The stream must exist and hold `id`'s position: a checkpoint beyond its
// last entry ID would skip the entries added later up to it, and one on a
// missing stream reads as the stream having gone backwards. An error message,
// or "".
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

int set(const std::vector<std::string>& argv) {
  const Args args(argv, {"data-dir", "stream", "group", "consumer", "redis", "id"}, {"force"});
  const auto key = parse_key(args);
  const auto id_text = args.required("id");
  const auto id = StreamId::parse(id_text);
  if (!id)
    throw UsageError(fmt::format("--id '{}' is not a stream ID (expected <ms>-<seq>, e.g. 1700000000000-0)", id_text));
  // The stream is checked before the store is opened: a refused set leaves
  // no new store behind at a mistyped --data-dir.
  Writable w;
  if (auto error = open_redis(args, w); !error.empty()) return fail(error);
  std::string detail;
  if (run_sync(*w.io, w.conn->connect(&detail))) return fail(detail);
  if (auto error = check_stream(w, key, *id); !error.empty()) return fail(error);
  if (auto error = open_store(args, w); !error.empty()) return fail(error);

  const auto local = w.store->read(key);
  const auto remote_read = run_sync(*w.io, redis::read_checkpoint(*w.conn, key, &detail));
  if (!remote_read) return fail(detail);
  const auto& remote = *remote_read;
  std::optional<Checkpoint> current;
  for (const auto* c : {&local, &remote})
    if (c->valid() && (!current || std::make_pair(c->checkpoint->epoch, c->checkpoint->id) >
                                       std::make_pair(current->epoch, current->id)))
      current = c->checkpoint;
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

int reset(const std::vector<std::string>& argv) {
  const Args args(argv, {"data-dir", "stream", "group", "consumer", "redis"}, {"force"});
  const auto key = parse_key(args);
  // A mistyped --data-dir would otherwise get a new, empty store, and only the
  // Redis copy would go: the real local copy would win at the next start.
  const std::filesystem::path dir = args.required("data-dir");
  const bool has_store = std::filesystem::exists(dir / "CURRENT");
  if (!has_store && !args.has("force"))
    return fail(
        fmt::format("no checkpoint store in {}; nothing was deleted. Check --data-dir, or pass --force to delete "
                    "the Redis copy alone",
                    dir.string()));
  Writable w;
  if (auto error = open_redis(args, w); !error.empty()) return fail(error);
  if (has_store)
    if (auto error = open_store(args, w); !error.empty()) return fail(error);
  std::string detail;
  if (run_sync(*w.io, w.conn->connect(&detail))) return fail(detail);
  auto deleted = run_sync(*w.io, w.conn->exec_one(redis::command("DEL", redis::checkpoint_hash_key(key))));
  if (!deleted || deleted->is_error()) return fail("deleting the Redis copy failed");
  if (!w.store) {
    fmt::print("checkpoint of {} deleted from the Redis copy (no store in {})\n", key.describe(), dir.string());
    return 0;
  }
  if (auto ec = w.store->remove(key)) return fail(fmt::format("deleting the local copy failed: {}", ec.message()));
  fmt::print("checkpoint of {} deleted from both copies\n", key.describe());
  return 0;
}

}  // namespace

int run_checkpoint(const std::vector<std::string>& argv) {
  if (argv.empty()) throw UsageError("checkpoint needs a subcommand: show, list, set or reset");
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (argv[0] == "show") return show(rest);
  if (argv[0] == "list") return list(rest);
  if (argv[0] == "set") return set(rest);
  if (argv[0] == "reset") return reset(rest);
  throw UsageError(fmt::format("unknown checkpoint subcommand '{}'", argv[0]));
}

}  // namespace streamckpt::cli
