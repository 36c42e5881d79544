// Produces the workload: entries seq=0..n-1, each with a payload of the given
// size, XADDed to a stream that must not exist yet.
#pragma once

#include "sync_redis.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace streamckpt::bench {

// Throws std::runtime_error. `progress` gets the number produced so far.
void produce(SyncRedis& redis, const std::string& stream, std::uint64_t count, std::size_t payload_bytes,
             const std::function<void(std::uint64_t)>& progress);

}  // namespace streamckpt::bench
