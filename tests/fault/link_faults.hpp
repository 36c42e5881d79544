// The faults a LinkProxy can put on one direction of a link, and what a link
// that is down does. Value types only: the proxy reads them on its thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace streamckpt::test {

enum class Direction {
  client_to_server,  // requests: the consumer to redis-server
  server_to_client,  // replies: redis-server to the consumer
};

// One direction's faults. The default is a clean link. Changes apply to the
// connections that are open and to new ones.
struct DirectionFaults {
  // Every chunk read is delayed by latency ± jitter (uniform, clamped at 0);
  // chunks never overtake each other.
  std::chrono::milliseconds latency{0};
  std::chrono::milliseconds jitter{0};
  // Read and discard: nothing is forwarded. A connection that lost bytes
  // stays a black hole until it closes (TCP never loses the middle of a
  // stream and then goes on), so only new connections recover after clear().
  bool blackhole = false;
  // Forward in writes of 1 to slice_max bytes each (0: off).
  std::size_t slice_max = 0;
  // Each connection carries at most this many bytes in this direction, then
  // both of its sides are reset.
  std::optional<std::uint64_t> limit_bytes;

  static DirectionFaults with_latency(std::chrono::milliseconds base, std::chrono::milliseconds jitter) {
    DirectionFaults f;
    f.latency = base;
    f.jitter = jitter;
    return f;
  }
  static DirectionFaults black_hole() {
    DirectionFaults f;
    f.blackhole = true;
    return f;
  }
  static DirectionFaults sliced(std::size_t max_bytes) {
    DirectionFaults f;
    f.slice_max = max_bytes;
    return f;
  }
  static DirectionFaults limited(std::uint64_t bytes) {
    DirectionFaults f;
    f.limit_bytes = bytes;
    return f;
  }
};

// What a link that is down does to a new connection. Either way, the
// connections that were open are reset when it goes down.
enum class DownMode {
  refuse,  // nothing listens: connect() fails with ECONNREFUSED
  reset,   // the connection is accepted, then reset at once
};

}  // namespace streamckpt::test
