#include "consumer/stream_reply.hpp"
#include "redis/connection.hpp"

#include <streamckpt/stream_sampler.hpp>

#include <boost/asio/co_spawn.hpp>

namespace streamckpt {

namespace asio = boost::asio;
using boost::system::error_code;

struct StreamSampler::Impl {
  asio::any_io_executor ex;
  std::string stream, group;
  Result<redis::Url> url;
  std::unique_ptr<redis::Connection> conn;
  bool closed = false;

  // The coroutine holds `self`: a sampler destroyed meanwhile leaves the
  // Impl alive until the sample ends (with an error: the link is closed).
  static asio::awaitable<Result<StreamSample>> sample(std::shared_ptr<Impl> self) {
    Impl& s = *self;
    if (s.closed) co_return errc::stopped;
    if (!s.url) co_return s.url.error();
    if (!s.conn->is_open())
      if (auto ec = co_await s.conn->connect()) co_return ec;
    StreamSample out;
    auto info = co_await s.conn->exec_one(redis::command("XINFO", "STREAM", s.stream));
    if (!info) co_return info.error();
    if (info->is_error()) {
      if (info->str.find("no such key") == std::string::npos)
        co_return info->error_prefix() == std::string_view("WRONGTYPE") ? errc::wrong_type : errc::redis_error;
    } else {
      auto state = detail::parse_xinfo_stream(*info);
      if (!state) co_return state.error();
      out.stream = *state;
    }
    if (s.group.empty() || !out.stream.exists) co_return out;
    auto reply = co_await s.conn->exec_one(redis::command("XINFO", "GROUPS", s.stream));
    if (!reply) co_return reply.error();
    if (reply->is_error()) co_return errc::redis_error;
    auto groups = detail::parse_xinfo_groups(*reply);
    if (!groups) co_return groups.error();
    for (const auto& g : *groups)
      if (g.name == s.group) {
        out.group_lag = g.lag;
        out.group_pending = g.pending;
      }
    co_return out;
  }
};

StreamSampler::StreamSampler(const asio::any_io_executor& executor, const ConsumerOptions& options)
    : impl_(std::make_shared<Impl>()) {
  impl_->ex = executor;
  impl_->stream = options.key.stream;
  impl_->group = options.key.group;
  impl_->url = redis::Url::parse(options.redis_url);
  if (!impl_->url) return;
  impl_->conn = std::make_unique<redis::Connection>(executor, *impl_->url, redis::ConnectionOptions::of(options));
}

StreamSampler::~StreamSampler() { close(); }

void StreamSampler::close() {
  impl_->closed = true;
  if (impl_->conn) impl_->conn->close();
}

void StreamSampler::sample_erased(asio::any_completion_handler<void(error_code, StreamSample)> handler) {
  asio::co_spawn(impl_->ex, Impl::sample(impl_),
                 [h = std::move(handler)](const std::exception_ptr& e, Result<StreamSample> r) mutable {
                   if (e) return std::move(h)(make_error_code(errc::internal_error), StreamSample{});
                   if (r) return std::move(h)(error_code{}, *r);
                   std::move(h)(r.error(), StreamSample{});
                 });
}

}  // namespace streamckpt
