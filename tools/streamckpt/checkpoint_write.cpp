#include "checkpoint_write.hpp"

#include "checkpoint_common.hpp"
#include "commands.hpp"

#include <fmt/format.h>

namespace streamckpt::cli {

int set_checkpoint(const Args& args, const CheckpointKey& key, admin::SetRequest request) {
  request.force = args.has("force");
  request.dry_run = args.has("dry-run");
  const auto set = admin::set(parse_place(args), key, request);
  if (!set) return fail(set.error().detail);
  if (request.at_ms) {
    if (set->entry_at_time)
      fmt::print("--to-datetime {} is {} ms: the last entry at or before it is {}\n", args.required("to-datetime"),
                 *request.at_ms, set->id.to_string());
    else
      fmt::print("--to-datetime {} is {} ms: no entry is at or before it; setting 0-0 (before the first entry)\n",
                 args.required("to-datetime"), *request.at_ms);
  }
  if (set->moved_to_entry)
    fmt::print("--id {} lies between entries: setting the entry at or below it, {}\n", request.id->to_string(),
               set->id.to_string());
  if (request.imported)
    fmt::print("importing the checkpoint of {}: {} (epoch {})\n", key.describe(), request.imported->id.to_string(),
               request.imported->epoch);
  if (request.dry_run) {
    const std::string group_part =
        key.plain() ? std::string{}
                    : fmt::format(
                          ", delete the pending entries of consumer '{}' and set the last-delivered-id of group '{}' "
                          "to {}",
                          key.consumer, key.group, set->id.to_string());
    fmt::print(
        "dry run: would set the checkpoint to {} (epoch {}) in both copies{} (now: local {}, redis {}); nothing "
        "was changed\n",
        set->id.to_string(), set->epoch, group_part, copy_text(set->local_before), copy_text(set->redis_before));
    return 0;
  }
  fmt::print("checkpoint set to {} (epoch {}) in both copies\n", set->id.to_string(), set->epoch);
  return 0;
}

}  // namespace streamckpt::cli
