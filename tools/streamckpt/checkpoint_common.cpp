#include "checkpoint_common.hpp"

#include "json.hpp"
#include "redis_auth.hpp"

#include <fmt/format.h>

namespace streamckpt::cli {

CheckpointKey parse_key(const Args& args) {
  CheckpointKey key;
  key.stream = args.name("stream");
  key.group = args.name("group");
  key.consumer = args.name("consumer");
  return key;
}

admin::Place parse_place(const Args& args) {
  return {args.required("data-dir"), redis_url_with_credentials(args, args.required("redis"))};
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

std::string local_checkpoint_text(const std::filesystem::path& dir, const CheckpointKey& key) {
  const auto found = admin::inspect({dir, {}}, key);
  // No store means no checkpoint.
  if (!found)
    return found.error().code == errc::no_store ? "no local checkpoint"
                                                : fmt::format("local checkpoint unknown ({})", found.error().detail);
  const auto& copy = found->local;
  switch (copy.state) {
    case CheckpointCopy::State::absent:
      return "no local checkpoint";
    case CheckpointCopy::State::valid:
      return fmt::format("local checkpoint {}", copy.checkpoint->id.to_string());
    case CheckpointCopy::State::invalid:
      return fmt::format("local checkpoint invalid ({})", copy.reason);
  }
  return {};
}

}  // namespace streamckpt::cli
