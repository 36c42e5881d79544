#include "sink.hpp"

#include <fmt/format.h>

#include <filesystem>

namespace streamckpt::cli {

SinkStart sink_start_of(const ResumeReport& r, const ConsumerOptions& options) {
  SinkStart start;
  start.owner = sink_owner(options);
  start.log = options.log;
  const bool any_copy =
      r.local.state != CheckpointCopy::State::absent || r.redis.state != CheckpointCopy::State::absent;
  if (r.winner() || r.regressed_from)
    start.metadata = r.metadata;
  else if (any_copy)
    start.unknown = true;
  return start;
}

SinkOwner sink_owner(const ConsumerOptions& options) {
  std::error_code ec;
  auto dir = std::filesystem::canonical(options.data_dir, ec);
  if (ec) dir = std::filesystem::absolute(options.data_dir, ec).lexically_normal();
  const auto& key = options.key;
  // Length-prefixed, so that no two identities read the same.
  return {fmt::format("{}:{}{}:{}{}:{}", key.stream.size(), key.stream, key.group.size(), key.group,
                      key.consumer.size(), key.consumer),
          dir.string()};
}

}  // namespace streamckpt::cli
