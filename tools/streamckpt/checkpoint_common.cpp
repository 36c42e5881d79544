#include "checkpoint_common.hpp"

#include "json.hpp"

#include "consumer/stream_reply.hpp"
#include "redis/checkpoint_store.hpp"
#include "redis/connection.hpp"

#include <fmt/format.h>

namespace streamckpt::cli {

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

bool store_exists(const std::filesystem::path& dir) { return std::filesystem::exists(dir / "CURRENT"); }

std::string open_for_reading(const std::filesystem::path& dir, std::unique_ptr<LocalStore>& store) {
  if (!store_exists(dir))
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

std::string local_checkpoint_text(const std::filesystem::path& dir, const CheckpointKey& key) {
  // Read-only RocksDB needs an existing store; none means no checkpoint.
  if (!store_exists(dir)) return "no local checkpoint";
  std::unique_ptr<LocalStore> store;
  if (auto error = open_for_reading(dir, store); !error.empty())
    return fmt::format("local checkpoint unknown ({})", error);
  const auto copy = store->read(key);
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
