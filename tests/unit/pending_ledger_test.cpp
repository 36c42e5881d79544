// What a group consumer knows of its pending list, with no Redis: each case
// records acks, commits and XACK answers, then asks what an entry given again
// means and what a commit writes.
#include "consumer/pending_ledger.hpp"

#include <doctest/doctest.h>

#include <vector>

using streamckpt::StreamId;
using streamckpt::detail::PendingLedger;
using Again = PendingLedger::Again;

namespace {

StreamId id(std::uint64_t ms) { return StreamId{ms, 0}; }

std::vector<StreamId> ids(std::uint64_t first, std::uint64_t last) {
  std::vector<StreamId> out;
  for (auto m = first; m <= last; ++m) out.push_back(id(m));
  return out;
}

}  // namespace

TEST_CASE("an entry given again is XACKed only once its commit is durable") {
  PendingLedger l;
  l.committing(ids(1, 2));
  CHECK(l.classify_again(id(1), false) == Again::in_flight);
  CHECK(l.classify_again(id(3), true) == Again::in_flight);  // delivered, not acked
  CHECK(l.classify_again(id(4), false) == Again::hand_out);
  l.durable(ids(1, 2));
  CHECK(l.classify_again(id(1), false) == Again::xack);
  CHECK(l.list() == ids(1, 2));
  CHECK(l.in_flight() == 2);  // handled, not XACKed: each commit carries them
}

TEST_CASE(
    "a confirmed XACK leaves the list, and the entry given back by a Redis restored from an older snapshot is XACKed "
    "again") {
  PendingLedger l;
  l.durable(ids(1, 3));
  for (const auto& i : ids(1, 3)) l.xack_confirmed(i);
  CHECK(l.list().empty());
  CHECK(l.in_flight() == 0);
  CHECK(l.classify_again(id(2), false) == Again::xack);
}

TEST_CASE("only the latest k_recent_xacks confirmed XACKs are remembered: an older one comes back as a duplicate") {
  PendingLedger l;
  const auto n = PendingLedger::k_recent_xacks + 1;
  const auto all = ids(1, n);
  l.durable(all);
  for (const auto& i : all) l.xack_confirmed(i);
  CHECK(l.classify_again(id(1), false) == Again::hand_out);
  CHECK(l.classify_again(id(2), false) == Again::xack);
  CHECK(l.classify_again(id(n), false) == Again::xack);
}

TEST_CASE("a refused XACK keeps the entry in the list but not in flight, and the oldest leave beyond k_max_refused") {
  PendingLedger l;
  const auto n = PendingLedger::k_max_refused + 2;
  l.durable(ids(1, n));
  for (const auto& i : ids(1, n)) l.xack_refused(i);
  CHECK(l.in_flight() == 0);
  const auto list = l.list();
  REQUIRE(list.size() == PendingLedger::k_max_refused);
  CHECK(list.front() == id(3));
  CHECK(list.back() == id(n));
  // Given again, a refused entry is known handled: XACKed (and so counted in flight until confirmed).
  CHECK(l.classify_again(id(3), false) == Again::xack);
  CHECK(l.in_flight() == 1);
  CHECK(l.classify_again(id(1), false) == Again::hand_out);
  // A refusal of an entry not waiting for its XACK changes nothing.
  l.xack_refused(id(1));
  CHECK(l.classify_again(id(1), false) == Again::hand_out);
}

TEST_CASE("an entry handed out below the watermark is acked on its own, once") {
  PendingLedger l;
  l.hand_out_below(id(5));
  CHECK(l.in_flight() == 1);
  CHECK(l.classify_again(id(5), false) == Again::in_flight);
  CHECK(l.list().empty());  // not handled yet
  CHECK(l.ack_out_of_order(id(5)));
  CHECK_FALSE(l.ack_out_of_order(id(5)));
  CHECK(l.list() == std::vector<StreamId>{id(5)});  // committing
  CHECK(l.in_flight() == 0);                        // counted by the commit pipeline now
  CHECK(l.classify_again(id(5), false) == Again::in_flight);
}

TEST_CASE("the loaded list is known handled until the replay is over, and every commit writes it, in ID order") {
  PendingLedger l;
  l.load({id(9), id(2)});
  l.committing({id(7)});
  l.durable({id(4)});
  CHECK(l.list() == std::vector<StreamId>{id(2), id(4), id(7), id(9)});
  CHECK(l.known_handled(id(9)));
  CHECK_FALSE(l.known_handled(id(7)));  // acked, not durable
  CHECK(l.classify_again(id(9), false) == Again::xack);
  l.replay_over();
  CHECK(l.list() == std::vector<StreamId>{id(4), id(7), id(9)});
  CHECK_FALSE(l.known_handled(id(2)));
  CHECK(l.classify_again(id(2), false) == Again::hand_out);
}
