// entries_lost: what a read (or a start) can tell of entries deleted before
// this consumer read them.
#include "consumer/gap.hpp"

#include <doctest/doctest.h>

using streamckpt::StreamId;
using streamckpt::StreamState;
using streamckpt::detail::entries_lost;

namespace {

// Entries 1-0 … `added`-0 were added; `first`-0 … `added`-0 are left.
StreamState stream(std::uint64_t added, std::uint64_t first, std::uint64_t max_deleted = 0) {
  StreamState s;
  s.exists = true;
  s.entries_added = added;
  s.length = first > added ? 0 : added - first + 1;
  if (s.length > 0) s.first_entry = StreamId(first, 0);
  s.last_generated = StreamId(added, 0);
  s.max_deleted = StreamId(max_deleted, 0);
  return s;
}

}  // namespace

TEST_CASE("a trim past the position: every entry added but neither accounted for nor left") {
  // Read up to 4-0 (4 accounted); trimmed to 100-0 … 109-0.
  CHECK(entries_lost(StreamId(4, 0), 4, stream(109, 100), StreamId(109, 0)).entries == 95);
  CHECK(entries_lost(StreamId(4, 0), 4, stream(109, 100), StreamId(109, 0)).covered_above == StreamId(4, 0));
  // The same read again, with the 95 already counted: nothing more.
  CHECK(entries_lost(StreamId(4, 0), 99, stream(109, 100), StreamId(109, 0)).entries == 0);
  // Trimmed to nothing at all.
  CHECK(entries_lost(StreamId(4, 0), 4, stream(109, 110)).entries == 105);
}

TEST_CASE("a trim that left the position's entry: no gap") {
  CHECK(entries_lost(StreamId(4, 0), 4, stream(109, 4), StreamId(104, 0)).entries == 0);
  CHECK(entries_lost(StreamId(4, 0), 4, stream(109, 3), StreamId(104, 0)).entries == 0);
}

TEST_CASE("an XDEL above the position, up to the last entry read, is at least one entry") {
  // 7-0 deleted; the read from 5-0 returned 6-0 and 8-0.
  CHECK(entries_lost(StreamId(5, 0), 5, stream(10, 1, 7), StreamId(8, 0)).entries == 1);
  // 8-0 deleted inside what the read returned (6-0, 7-0, 9-0, 10-0): a
  // checkpoint counts it once it is above 8-0.
  CHECK(entries_lost(StreamId(5, 0), 5, stream(10, 1, 8), StreamId(10, 0)).entries == 1);
  CHECK(entries_lost(StreamId(5, 0), 5, stream(10, 1, 8), StreamId(10, 0)).covered_above == StreamId(8, 0));
  // Counted already: not again.
  CHECK(entries_lost(StreamId(5, 0), 6, stream(10, 1, 7), StreamId(8, 0), StreamId(7, 0)).entries == 0);
  // Deleted beyond what the read returned: a later read passes it.
  CHECK(entries_lost(StreamId(5, 0), 5, stream(10, 1, 9), StreamId(8, 0)).entries == 0);
  // Deleted at or below the position: read before it went.
  CHECK(entries_lost(StreamId(5, 0), 5, stream(10, 1, 5), StreamId(6, 0)).entries == 0);
  // Nothing read (or at start-up): any XDEL above the position.
  CHECK(entries_lost(StreamId(5, 0), 5, stream(10, 1, 9)).entries == 1);
}

TEST_CASE("a stream that does not exist tells nothing") {
  StreamState s;
  CHECK(entries_lost(StreamId(5, 0), 5, s).entries == 0);
}
