#include "admin/sync_redis.hpp"

#include "consumer/stream_reply.hpp"
#include "redis/checkpoint_store.hpp"

#include <fmt/format.h>

namespace streamckpt::admin::detail {

Problem SyncRedis::connect(const std::string& url_text, const std::string& stream) {
  std::string why;
  auto url = redis::Url::parse(url_text, &why);
  if (!url) return {errc::invalid_url, fmt::format("invalid Redis URL '{}': {}", redis::Url::redact(url_text), why)};
  redis::ConnectionOptions options;
  options.slot_key = stream;
  conn_ = std::make_unique<redis::Connection>(io_.get_executor(), *url, options);
  std::string detail;
  if (auto ec = run(conn_->connect(&detail))) return {ec, detail.empty() ? ec.message() : detail};
  return {};
}

Outcome<redis::Value> SyncRedis::exec(redis::Command command, const std::string& what) {
  auto reply = run(conn_->exec_one(std::move(command)));
  if (!reply) {
    const auto why = reply.error() == errc::redis_not_ready
                         ? fmt::format("{} is not ready: {}", conn_->url().redacted(), conn_->not_ready_reply())
                         : reply.error().message();
    return Problem{reply.error(), fmt::format("{} failed: {}", what, why)};
  }
  return std::move(*reply);
}

Outcome<CheckpointCopy> SyncRedis::read_copy(const CheckpointKey& key) {
  std::string detail;
  auto copy = run(redis::read_checkpoint(*conn_, key, &detail));
  if (!copy) return Problem{copy.error(), detail.empty() ? copy.error().message() : detail};
  return std::move(*copy);
}

Outcome<StreamState> SyncRedis::stream_state(const std::string& stream) {
  auto info = exec(redis::command("XINFO", "STREAM", stream), "XINFO STREAM " + stream);
  if (!info) return info.error();
  if (info->is_error()) {
    if (info->str.find("no such key") != std::string::npos) return StreamState{};
    const auto code = info->error_prefix() == std::string_view("WRONGTYPE") ? errc::wrong_type : errc::redis_error;
    return Problem{code, fmt::format("XINFO STREAM {} failed: {}", stream, info->str)};
  }
  auto state = streamckpt::detail::parse_xinfo_stream(*info);
  if (!state) return Problem{errc::protocol_error, fmt::format("unexpected XINFO STREAM {} reply", stream)};
  return *state;
}

}  // namespace streamckpt::admin::detail
