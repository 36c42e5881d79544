#include "producer.hpp"

#include "ledger.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace streamckpt::bench {

void produce(SyncRedis& redis, const std::string& stream, std::uint64_t count, std::size_t payload_bytes,
             const std::function<void(std::uint64_t)>& progress) {
  auto exists = redis.run({"EXISTS", stream});
  if (exists->type == REDIS_REPLY_ERROR)  // NOAUTH, NOPERM: the server's answer says what to fix
    throw std::runtime_error(fmt::format("EXISTS {} failed: {}", stream, std::string(exists->str, exists->len)));
  if (exists->type != REDIS_REPLY_INTEGER || exists->integer != 0)
    throw std::runtime_error(fmt::format("stream '{}' exists already", stream));

  std::string payload(payload_bytes, 'x');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>('a' + i % 26);

  constexpr std::uint64_t k_pipeline = 1000;
  std::vector<std::string> args = {"XADD", stream, "*", std::string(k_seq_field), "", std::string(k_payload_field),
                                   payload};
  for (std::uint64_t first = 0; first < count; first += k_pipeline) {
    const auto n = std::min(k_pipeline, count - first);
    for (std::uint64_t i = 0; i < n; ++i) {
      args[4] = std::to_string(first + i);
      redis.append(args);
    }
    for (std::uint64_t i = 0; i < n; ++i) {
      auto r = redis.take_reply();
      if (r->type != REDIS_REPLY_STRING)
        throw std::runtime_error(fmt::format("XADD {} failed: {}", stream, text_of(*r)));
    }
    if (progress) progress(first + n);
  }
}

}  // namespace streamckpt::bench
