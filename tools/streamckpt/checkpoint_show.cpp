// streamckpt checkpoint show: both copies of one consumer's checkpoint, and the
// position consume would resume after.
#include "checkpoint_commands.hpp"
#include "checkpoint_common.hpp"
#include "commands.hpp"
#include "json.hpp"
#include "redis_auth.hpp"

#include "consumer/resume.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <fmt/format.h>

namespace streamckpt::cli {

namespace asio = boost::asio;

int checkpoint_show(const std::vector<std::string>& argv) {
  const Args args(argv, {"data-dir", "stream", "group", "consumer", "redis", "redis-user", "redis-password-file"},
                  {"json"});
  const auto key = parse_key(args);
  const std::filesystem::path dir = args.required("data-dir");
  auto redis_url = args.optional("redis");
  for (const char* option : {"redis-user", "redis-password-file"})
    if (!redis_url && args.has(option)) throw UsageError(fmt::format("--{} needs --redis", option));
  if (redis_url) redis_url = redis_url_with_credentials(args, *redis_url);

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

}  // namespace streamckpt::cli
