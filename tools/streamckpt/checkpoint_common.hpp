// What the checkpoint subcommands share: the identity they name, how a copy
// prints, and reading the store and Redis.
#pragma once

#include "args.hpp"

#include <streamckpt/checkpoint.hpp>
#include <streamckpt/local_store.hpp>
#include <streamckpt/report.hpp>

#include <boost/asio/awaitable.hpp>

#include <filesystem>
#include <memory>
#include <string>

namespace streamckpt::cli {

// --stream, --group (optional) and --consumer.
CheckpointKey parse_key(const Args& args);
std::string copy_json(const CheckpointCopy& c);
std::string copy_text(const CheckpointCopy& c);

struct RedisView {
  CheckpointCopy copy;
  StreamState stream;
};

// Reads the Redis copy and the stream's state; an error message on failure.
boost::asio::awaitable<std::string> read_redis(const std::string& url_text, const CheckpointKey& key, RedisView& out);

// A store was made in `dir` (RocksDB's CURRENT file is there).
bool store_exists(const std::filesystem::path& dir);

// Opens an existing store without its lock, so that it works beside a running
// consumer. Returns an error message, or "".
std::string open_for_reading(const std::filesystem::path& dir, std::unique_ptr<LocalStore>& store);

// What the local store holds for `key`, read afresh, as a phrase: "local
// checkpoint ID", "no local checkpoint", or why it is unknown or invalid.
std::string local_checkpoint_text(const std::filesystem::path& dir, const CheckpointKey& key);

}  // namespace streamckpt::cli
