#include "redis_keys.hpp"

#include "sync_redis.hpp"

#include <fmt/format.h>

namespace streamckpt::bench {

RedisKeys::~RedisKeys() {
  try {
    SyncRedis redis(url_, std::chrono::seconds(5));
    std::vector<std::string> keys = {stream_, baseline_checkpoint_key()};
    // The stream name holds no glob characters (see bench_run.cpp). The
    // many-consumer scenarios' streams are many_stream(stream_, i):
    // <stream>:many-<i>, with their checkpoints under streamckpt:{<stream>:many-<i>}.
    const std::string patterns[] = {fmt::format("streamckpt:{{{}}}:*", stream_), fmt::format("{}:many-*", stream_),
                                    fmt::format("streamckpt:{{{}:many-*", stream_)};
    for (const auto& pattern : patterns) {
      std::string cursor = "0";
      do {
        auto r = redis.run({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) break;
        cursor = std::string(text_of(*r->element[0]));
        for (std::size_t i = 0; i < r->element[1]->elements; ++i)
          keys.emplace_back(text_of(*r->element[1]->element[i]));
      } while (cursor != "0");
    }
    std::vector<std::string> del = {"DEL"};
    del.insert(del.end(), keys.begin(), keys.end());
    redis.run(del);
  } catch (const std::exception& e) {
    fmt::print(stderr, "streamckpt-bench: could not delete the benchmark's keys ({}): {}\n", e.what(), stream_);
  }
}

}  // namespace streamckpt::bench
