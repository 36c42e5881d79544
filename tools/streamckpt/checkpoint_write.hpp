// What checkpoint set and reset share: opening the store for writing and
// Redis, running Redis calls to completion, and checking the stream.
#pragma once

#include "args.hpp"

#include "redis/connection.hpp"

#include <streamckpt/checkpoint.hpp>
#include <streamckpt/local_store.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <memory>
#include <optional>
#include <string>

namespace streamckpt::cli {

// The store for writing and the Redis connection: what set and reset need.
struct Writable {
  std::unique_ptr<LocalStore> store;
  std::optional<boost::asio::io_context> io;
  std::unique_ptr<redis::Connection> conn;
};

// The Redis connection (not yet connected). Returns an error message or "".
std::string open_redis(const Args& args, Writable& w);
// The store, for writing, created when missing. Returns an error message or "".
std::string open_store(const Args& args, Writable& w);

template <class T>
T run_sync(boost::asio::io_context& io, boost::asio::awaitable<T> op) {
  // Runs handlers only until `op` is done: the connection's reader stays
  // pending in between.
  auto done = boost::asio::co_spawn(io, std::move(op), boost::asio::use_future);
  io.restart();
  while (done.wait_for(std::chrono::seconds(0)) != std::future_status::ready) io.run_one();
  return done.get();
}

// Writes `id` to both copies, as checkpoint set does: refuses to move
// backwards without --force (which starts a new epoch), keeps the current
// metadata (or `imported`'s, with the higher of the two epochs), and in group
// mode moves the group. With --dry-run it says what it would do. Prints the
// outcome; returns the exit status. REQUIRES: w.conn connected.
int write_checkpoint_copies(const Args& args, Writable& w, const CheckpointKey& key, StreamId id,
                            const std::optional<Checkpoint>& imported);

// The stream must exist and hold `id`'s position. An error message, or "".
std::string check_stream(Writable& w, const CheckpointKey& key, StreamId id);

}  // namespace streamckpt::cli
