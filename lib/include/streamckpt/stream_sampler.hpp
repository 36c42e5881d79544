// StreamSampler: the stream's numbers and its group's, read from Redis on the
// application's executor, for what a metrics exporter shows beside a
// consumer (the stream's length and last ID, the group's lag and pending
// count). It has a connection of its own: the consumer's reads never wait
// for it.
#pragma once

#include <streamckpt/error.hpp>
#include <streamckpt/options.hpp>
#include <streamckpt/report.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>

#include <cstdint>
#include <memory>
#include <optional>

namespace streamckpt {

struct StreamSample {
  StreamState stream{};  // exists false when the stream is missing
  // XINFO GROUPS' numbers for options.key.group; nullopt in plain mode, when
  // the group is missing, or when Redis cannot tell (lag before Redis 7).
  std::optional<std::uint64_t> group_lag{};
  std::optional<std::uint64_t> group_pending{};
};

class StreamSampler {
 public:
  // Samples options.key.stream (and options.key.group) over options'
  // redis_url, TLS files and timeouts. Connects at the first sample.
  StreamSampler(const boost::asio::any_io_executor& executor, const ConsumerOptions& options);
  ~StreamSampler();
  StreamSampler(const StreamSampler&) = delete;
  StreamSampler& operator=(const StreamSampler&) = delete;

  // Connects when not connected (again after a failure), then XINFO STREAM,
  // and XINFO GROUPS in group mode. Handler: void(error_code, StreamSample).
  // Fails with invalid_url, connect_failed, auth_failed, redis_not_ready,
  // outcome_unknown, redis_error (wrong_type for a key that is no stream),
  // protocol_error; after close(), with errc::stopped. Not cancellable:
  // close() ends a sample in progress. REQUIRES: one at a time, called on the
  // executor's thread.
  template <class Token>
  auto async_sample(Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, StreamSample)>(
        [this](auto handler) { sample_erased(std::move(handler)); }, token);
  }

  // Drops the connection; async_sample() fails from then on.
  void close();

  struct Impl;

 private:
  void sample_erased(boost::asio::any_completion_handler<void(boost::system::error_code, StreamSample)> handler);

  std::shared_ptr<Impl> impl_;
};

}  // namespace streamckpt
