// A Redis connection driven synchronously, for the admin calls: its own
// io_context, each request run to completion before the call returns.
#pragma once

#include "redis/connection.hpp"

#include <streamckpt/checkpoint.hpp>
#include <streamckpt/error.hpp>
#include <streamckpt/report.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace streamckpt::admin::detail {

class SyncRedis {
 public:
  // Parses the URL and connects (AUTH, SELECT, PING as the URL says).
  // `stream`: in Cluster, the link goes to the node of its slot.
  [[nodiscard]] Problem connect(const std::string& url_text, const std::string& stream);

  // Runs `op` on the connection's io_context until it is done: the
  // connection's reader stays pending in between.
  template <class T>
  T run(boost::asio::awaitable<T> op) {
    auto done = boost::asio::co_spawn(io_, std::move(op), boost::asio::use_future);
    io_.restart();
    while (done.wait_for(std::chrono::seconds(0)) != std::future_status::ready) io_.run_one();
    return done.get();
  }

  // One command; the error names `what` ("XINFO STREAM orders failed: …").
  // A reply that is a Redis error is returned as it is.
  [[nodiscard]] Outcome<redis::Value> exec(redis::Command command, const std::string& what);

  // The Redis copy of `key`'s checkpoint.
  [[nodiscard]] Outcome<CheckpointCopy> read_copy(const CheckpointKey& key);
  // XINFO STREAM; `exists` false when there is no such key.
  [[nodiscard]] Outcome<StreamState> stream_state(const std::string& stream);

  redis::Connection& connection() { return *conn_; }

 private:
  boost::asio::io_context io_;
  std::unique_ptr<redis::Connection> conn_;
};

}  // namespace streamckpt::admin::detail
