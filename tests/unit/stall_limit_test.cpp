// StallLimit: when a sync counts as stalled, from the recent commit times.
#include "local/stall_limit.hpp"

#include <doctest/doctest.h>

using streamckpt::detail::StallLimit;
using us = std::chrono::microseconds;

namespace {

void record(StallLimit& limit, us time, std::size_t times) {
  for (std::size_t i = 0; i < times; ++i) limit.record(time);
}

}  // namespace

TEST_CASE("StallLimit: 10 ms until a first window of 32 synced writes is measured") {
  StallLimit limit;
  CHECK(limit.limit() == us{10000});
  record(limit, us{300}, 31);
  CHECK(limit.limit() == us{10000});
  limit.record(us{300});
  CHECK(limit.limit() == us{1200});  // 4 x the median
}

TEST_CASE("StallLimit: never below 1 ms on a fast disk") {
  StallLimit limit;
  record(limit, us{40}, 32);
  CHECK(limit.limit() == us{1000});
}

TEST_CASE("StallLimit: a slow disk is not a stalled one") {
  StallLimit limit;
  record(limit, us{8000}, 32);
  CHECK(limit.limit() == us{32000});
}

TEST_CASE("StallLimit: the stalls of a window do not move the limit, the median does") {
  StallLimit limit;
  record(limit, us{50000}, 15);
  record(limit, us{250}, 17);
  CHECK(limit.limit() == us{1000});
  // The next window: the disk became slower for good.
  record(limit, us{2000}, 20);
  CHECK(limit.limit() == us{1000});  // not until the window is full
  record(limit, us{100}, 12);
  CHECK(limit.limit() == us{8000});
}
