// A synchronous hiredis connection: what the baselines, the producer and the
// clean-up use. Throws std::runtime_error when the connection fails (an error
// reply is a value, not a failure).
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace streamckpt::bench {

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

inline std::string_view text_of(const redisReply& r) { return {r.str ? r.str : "", r.len}; }

class SyncRedis {
 public:
  // redis://[user:password@]host[:port][/db] or unix:///path[?db=N].
  explicit SyncRedis(const std::string& url, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~SyncRedis();
  SyncRedis(const SyncRedis&) = delete;
  SyncRedis& operator=(const SyncRedis&) = delete;

  Reply run(const std::vector<std::string>& args);
  // The same without copying: argv/lengths as hiredis takes them.
  Reply run(int argc, const char* const* argv, const std::size_t* lengths);
  // Pipelining: queue commands, then take their replies in order.
  void append(const std::vector<std::string>& args);
  Reply take_reply();

 private:
  Reply checked(void* raw, const char* what);
  redisContext* ctx_ = nullptr;
  std::string where_;  // the URL without its password, for messages
};

// Throws std::runtime_error unless the reply is +OK.
void expect_ok(const redisReply& r, std::string_view what);

}  // namespace streamckpt::bench
