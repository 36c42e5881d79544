// streamckpt checkpoint set: both copies to a given ID (or the entry at a
// given time), after checking the stream.
#include "checkpoint_commands.hpp"
#include "checkpoint_common.hpp"
#include "checkpoint_write.hpp"
#include "iso8601.hpp"
#include "redis_auth.hpp"

#include <fmt/format.h>

namespace streamckpt::cli {

int checkpoint_set(const std::vector<std::string>& argv) {
  auto valued = k_redis_auth_options;
  valued.insert({"data-dir", "stream", "group", "consumer", "redis", "id", "to-datetime"});
  const Args args(argv, valued, {"force", "dry-run"});
  const auto key = parse_key(args);
  admin::SetRequest request;
  if (args.has("id") == args.has("to-datetime")) throw UsageError("give one of --id and --to-datetime");
  if (args.has("id")) {
    const auto id_text = args.required("id");
    request.id = StreamId::parse(id_text);
    if (!request.id)
      throw UsageError(
          fmt::format("--id '{}' is not a stream ID (expected <ms>-<seq>, e.g. 1700000000000-0)", id_text));
  } else {
    const auto text = args.required("to-datetime");
    request.at_ms = parse_iso8601_ms(text);
    if (!request.at_ms)
      throw UsageError(fmt::format(
          "--to-datetime '{}' is not an ISO 8601 date and time with a zone, from 1970 on (e.g. 2026-01-31T12:00:00Z "
          "or 2026-01-31T13:00:00.250+01:00)",
          text));
  }
  return set_checkpoint(args, key, std::move(request));
}

}  // namespace streamckpt::cli
