// streamckpt checkpoint reset: delete both copies.
#include "checkpoint_commands.hpp"
#include "checkpoint_common.hpp"
#include "commands.hpp"
#include "redis_auth.hpp"

#include <fmt/format.h>

namespace streamckpt::cli {

int checkpoint_reset(const std::vector<std::string>& argv) {
  const Args args(argv, {"data-dir", "stream", "group", "consumer", "redis", "redis-user", "redis-password-file"},
                  {"force", "dry-run"});
  const auto key = parse_key(args);
  const auto place = parse_place(args);
  const auto dir = place.data_dir.string();
  const bool dry_run = args.has("dry-run");
  const auto reset = admin::reset(place, key, {.force = args.has("force"), .dry_run = dry_run});
  if (!reset) return fail(reset.error().detail);
  if (dry_run) {
    fmt::print("dry run: would delete the checkpoint of {} from {} (local: {}, redis: {}); nothing was changed\n",
               key.describe(), reset->store_found ? "both copies" : "the Redis copy",
               reset->store_found ? copy_text(reset->local_before) : "no store in " + dir,
               copy_text(reset->redis_before));
    return 0;
  }
  if (reset->store_found)
    fmt::print("checkpoint of {} deleted from both copies\n", key.describe());
  else
    fmt::print("checkpoint of {} deleted from the Redis copy (no store in {})\n", key.describe(), dir);
  // The group keeps its own position: the next start reads after it, whatever
  // --start says, so entries before it do not come again (and a file sink's
  // file starts empty).
  if (reset->group_position)
    fmt::print(
        "group '{}' keeps its position: the next start reads after {}, whatever --start says, and a file sink's "
        "file starts empty; to read the entries before it again, move the group back with 'XGROUP SETID {} {} "
        "0' (which hands its other consumers' entries out again too)\n",
        key.group, reset->group_position->to_string(), key.stream, key.group);
  return 0;
}

}  // namespace streamckpt::cli
