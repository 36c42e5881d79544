// The Redis keys one run makes, deleted at the end (also on errors): the
// stream (its groups go with it), the baseline's checkpoint key, and the
// consumer's checkpoint hashes and leases, streamckpt:{<stream>}:*; the same
// for the streams of the many-consumer scenarios, <stream>:many-*.
#pragma once

#include <string>
#include <vector>

namespace streamckpt::bench {

class RedisKeys {
 public:
  RedisKeys(std::string url, std::string stream) : url_(std::move(url)), stream_(std::move(stream)) {}
  ~RedisKeys();
  RedisKeys(const RedisKeys&) = delete;
  RedisKeys& operator=(const RedisKeys&) = delete;

  const std::string& stream() const { return stream_; }
  std::string baseline_checkpoint_key() const { return stream_ + ":redis-set-checkpoint"; }

 private:
  std::string url_, stream_;
};

}  // namespace streamckpt::bench
