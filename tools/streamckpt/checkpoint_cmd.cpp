// streamckpt checkpoint show: both copies of one consumer's checkpoint.
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
  key.stream = args.required("stream");
  key.group = args.get_or("group", "");
  if (args.has("group") && key.group.empty()) throw UsageError("--group must not be empty");
  key.consumer = args.required("consumer");
  return key;
}

std::string copy_json(const CheckpointCopy& c) {
  switch (c.state) {
    case CheckpointCopy::State::absent: return "null";
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
    case CheckpointCopy::State::absent: return "absent";
    case CheckpointCopy::State::valid: return fmt::format("{} (valid, epoch {})", c.checkpoint->id.to_string(), c.checkpoint->epoch);
    case CheckpointCopy::State::invalid: return fmt::format("invalid: {}", c.reason);
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
  if (!url) co_return fmt::format("invalid Redis URL '{}': {}", url_text, why);
  auto ex = co_await asio::this_coro::executor;
  redis::Connection conn(ex, *url, {});
  std::string detail;
  if (auto ec = co_await conn.connect(&detail)) co_return detail;
  out.copy = co_await redis::read_checkpoint(conn, key, &detail);
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

int show(const std::vector<std::string>& argv) {
  const Args args(argv, {"data-dir", "stream", "group", "consumer", "redis"}, {"json"});
  const auto key = parse_key(args);
  const std::filesystem::path dir = args.required("data-dir");
  const auto redis_url = args.optional("redis");

  if (!std::filesystem::exists(dir / "CURRENT"))
    return fail(fmt::format("no checkpoint store in {} (nothing was consumed with this --data-dir)", dir.string()));
  LocalStoreOptions options;
  options.dir = dir;
  options.read_only = true;  // works beside a running consumer
  std::string detail;
  auto store = LocalStore::open(options, &detail);
  if (!store) return fail(fmt::format("cannot open {}: {}", dir.string(), detail));

  detail::ResumeInputs in;
  in.local = (*store)->read(key);
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

}  // namespace

int run_checkpoint(const std::vector<std::string>& argv) {
  if (argv.empty()) throw UsageError("checkpoint needs a subcommand: show");
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (argv[0] == "show") return show(rest);
  throw UsageError(fmt::format("unknown checkpoint subcommand '{}'", argv[0]));
}

}  // namespace streamckpt::cli
