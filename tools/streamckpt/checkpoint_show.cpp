// streamckpt checkpoint show: both copies of one consumer's checkpoint, and the
// position consume would resume after.
#include "checkpoint_commands.hpp"
#include "checkpoint_common.hpp"
#include "commands.hpp"
#include "json.hpp"
#include "redis_auth.hpp"

#include <fmt/format.h>

namespace streamckpt::cli {

int checkpoint_show(const std::vector<std::string>& argv) {
  const Args args(argv, {"data-dir", "stream", "group", "consumer", "redis", "redis-user", "redis-password-file"},
                  {"json"});
  const auto key = parse_key(args);
  admin::Place place{args.required("data-dir"), {}};
  if (const auto url = args.optional("redis"))
    place.redis_url = redis_url_with_credentials(args, *url);
  else
    for (const char* option : {"redis-user", "redis-password-file"})
      if (args.has(option)) throw UsageError(fmt::format("--{} needs --redis", option));

  const auto found = admin::inspect(place, key);
  if (!found) return fail(found.error().detail);
  const auto& effective = found->effective;
  if (args.has("json")) {
    fmt::print(R"({{"local":{},"redis":{},"effective":{}}})"
               "\n",
               copy_json(found->local), found->redis ? copy_json(*found->redis) : "null",
               effective ? json_string(effective->to_string()) : "null");
  } else {
    fmt::print("local:     {}\n", copy_text(found->local));
    fmt::print("redis:     {}\n", found->redis ? copy_text(*found->redis) : "not read (no --redis)");
    fmt::print("effective: {}\n", effective ? effective->to_string() : "none");
  }
  return 0;
}

}  // namespace streamckpt::cli
