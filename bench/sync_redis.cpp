#include "sync_redis.hpp"

#include <streamckpt/redis_url.hpp>

#include <fmt/format.h>

#include <stdexcept>

namespace streamckpt::bench {

SyncRedis::SyncRedis(const std::string& url_text, std::chrono::milliseconds timeout) {
  std::string why;
  auto url = RedisUrl::parse(url_text, &why);
  if (!url) throw std::runtime_error(fmt::format("invalid Redis URL '{}': {}", RedisUrl::redact(url_text), why));
  where_ = url->redacted();
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(timeout).count();
  const timeval tv{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
  switch (url->scheme) {
    case RedisUrl::Scheme::tcp:
      ctx_ = redisConnectWithTimeout(url->host.c_str(), url->port, tv);
      break;
    case RedisUrl::Scheme::unix_socket:
      ctx_ = redisConnectUnixWithTimeout(url->path.c_str(), tv);
      break;
    case RedisUrl::Scheme::tls:
      throw std::runtime_error("rediss:// is not supported by the benchmark");
    case RedisUrl::Scheme::sentinel:
    case RedisUrl::Scheme::cluster:
      throw std::runtime_error("redis+sentinel:// and redis+cluster:// are not supported by the benchmark's own links");
  }
  if (!ctx_ || ctx_->err) {
    const std::string err = ctx_ ? ctx_->errstr : "out of memory";
    if (ctx_) redisFree(ctx_);
    ctx_ = nullptr;
    throw std::runtime_error(fmt::format("cannot connect to {}: {}", url->redacted(), err));
  }
  redisSetTimeout(ctx_, tv);
  if (!url->password.empty()) {
    auto r = url->user.empty() ? run({"AUTH", url->password}) : run({"AUTH", url->user, url->password});
    expect_ok(*r, "AUTH");
  }
  if (url->db != 0) expect_ok(*run({"SELECT", std::to_string(url->db)}), "SELECT");
}

SyncRedis::~SyncRedis() {
  if (ctx_) redisFree(ctx_);
}

Reply SyncRedis::checked(void* raw, const char* what) {
  if (!raw) throw std::runtime_error(fmt::format("Redis {} on {} failed: {}", what, where_, ctx_->errstr));
  return Reply(static_cast<redisReply*>(raw));
}

Reply SyncRedis::run(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  return run(static_cast<int>(args.size()), argv.data(), lengths.data());
}

Reply SyncRedis::run(int argc, const char* const* argv, const std::size_t* lengths) {
  return checked(redisCommandArgv(ctx_, argc, const_cast<const char**>(argv), lengths), "command");
}

void SyncRedis::append(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  if (redisAppendCommandArgv(ctx_, static_cast<int>(args.size()), argv.data(), lengths.data()) != REDIS_OK)
    throw std::runtime_error(fmt::format("Redis append on {} failed: {}", where_, ctx_->errstr));
}

Reply SyncRedis::take_reply() {
  void* raw = nullptr;
  if (redisGetReply(ctx_, &raw) != REDIS_OK) raw = nullptr;
  return checked(raw, "reply");
}

void expect_ok(const redisReply& r, std::string_view what) {
  if (r.type == REDIS_REPLY_STATUS && text_of(r) == "OK") return;
  throw std::runtime_error(fmt::format("{} failed: {}", what, text_of(r)));
}

}  // namespace streamckpt::bench
