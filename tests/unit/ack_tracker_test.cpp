// AckTracker: the watermark over delivered events, acked in any order.
#include "consumer/ack_tracker.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

using streamckpt::StreamId;
using streamckpt::detail::AckTracker;
using AckResult = AckTracker::AckResult;

namespace {

StreamId id(std::uint64_t ms) { return StreamId(ms, 0); }

AckTracker delivered(std::initializer_list<std::uint64_t> ms) {
  AckTracker t;
  for (auto m : ms) t.deliver(id(m));
  return t;
}

std::shared_ptr<const rocksdb::WriteBatch> effect(const std::string& key) {
  auto b = std::make_shared<rocksdb::WriteBatch>();
  REQUIRE(b->Put(key, "v").ok());
  return b;
}

}  // namespace

TEST_CASE("a fresh tracker has nothing outstanding and no advance") {
  AckTracker t;
  CHECK(t.outstanding() == 0);
  CHECK_FALSE(t.last_delivered().has_value());
  CHECK_FALSE(t.take_advance().has_value());
}

TEST_CASE("in-order acks advance the watermark one event at a time") {
  auto t = delivered({1, 2, 3});
  CHECK(t.outstanding() == 3);
  REQUIRE(t.last_delivered().has_value());
  CHECK(*t.last_delivered() == id(3));
  for (std::uint64_t m : {1, 2, 3}) {
    CAPTURE(m);
    CHECK(t.ack(id(m)) == AckResult::accepted);
    const auto adv = t.take_advance();
    REQUIRE(adv.has_value());
    CHECK(adv->to == id(m));
    CHECK(adv->ids == std::vector<StreamId>{id(m)});
    CHECK(adv->effects.empty());
    CHECK_FALSE(adv->metadata.has_value());
    CHECK_FALSE(t.take_advance().has_value());  // consumed
  }
  CHECK(t.outstanding() == 0);
  CHECK(*t.last_delivered() == id(3));
}

TEST_CASE("an out-of-order ack waits for its predecessors") {
  auto t = delivered({1, 2, 3, 4});
  CHECK(t.ack(id(3)) == AckResult::accepted);
  CHECK_FALSE(t.take_advance().has_value());
  CHECK(t.ack(id(2)) == AckResult::accepted);
  CHECK_FALSE(t.take_advance().has_value());
  CHECK(t.outstanding() == 4);

  CHECK(t.ack(id(1)) == AckResult::accepted);
  const auto adv = t.take_advance();
  REQUIRE(adv.has_value());
  CHECK(adv->to == id(3));
  CHECK(adv->ids == std::vector<StreamId>{id(1), id(2), id(3)});
  CHECK(t.outstanding() == 1);
  CHECK(t.was_delivered_outstanding(id(4)));
  CHECK_FALSE(t.was_delivered_outstanding(id(3)));
}

TEST_CASE("acking an event twice is a duplicate and changes nothing") {
  auto t = delivered({1, 2});
  CHECK(t.ack(id(2), effect("first"), "first") == AckResult::accepted);
  CHECK(t.ack(id(2), effect("second"), "second") == AckResult::duplicate);
  CHECK(t.ack(id(1)) == AckResult::accepted);
  const auto adv = t.take_advance();
  REQUIRE(adv.has_value());
  REQUIRE(adv->effects.size() == 1);
  CHECK(adv->effects[0]->Count() == 1);
  REQUIRE(adv->metadata.has_value());
  CHECK(*adv->metadata == "first");
}

TEST_CASE("acking an event that was never delivered is unknown") {
  auto t = delivered({2, 4});
  CHECK(t.ack(id(3)) == AckResult::unknown);  // between delivered IDs
  CHECK(t.ack(id(1)) == AckResult::unknown);  // below them
  CHECK(t.ack(id(5)) == AckResult::unknown);  // beyond them
  CHECK(t.ack(StreamId(2, 1)) == AckResult::unknown);
  CHECK_FALSE(t.take_advance().has_value());
  AckTracker empty;
  CHECK(empty.ack(id(1)) == AckResult::unknown);
}

TEST_CASE("acking an event already covered by the watermark is refused as unknown") {
  auto t = delivered({1, 2});
  CHECK(t.ack(id(1)) == AckResult::accepted);
  REQUIRE(t.take_advance().has_value());
  CHECK(t.ack(id(1)) == AckResult::unknown);
  CHECK_FALSE(t.take_advance().has_value());
}

TEST_CASE("effects are returned only once covered, in event order") {
  auto t = delivered({1, 2, 3});
  const auto e1 = effect("e1");
  const auto e3 = effect("e3");
  CHECK(t.ack(id(3), e3) == AckResult::accepted);
  CHECK_FALSE(t.take_advance().has_value());   // not covered yet: nothing handed out
  CHECK(t.ack(id(2)) == AckResult::accepted);  // no effects
  CHECK_FALSE(t.take_advance().has_value());
  CHECK(t.ack(id(1), e1) == AckResult::accepted);
  const auto adv = t.take_advance();
  REQUIRE(adv.has_value());
  REQUIRE(adv->effects.size() == 2);
  CHECK(adv->effects[0] == e1);  // event order, not ack order
  CHECK(adv->effects[1] == e3);
}

TEST_CASE("the metadata of the highest covered event that carries some wins") {
  SUBCASE("in-order acks: the last one wins") {
    auto t = delivered({1, 2, 3});
    CHECK(t.ack(id(1), nullptr, "m1") == AckResult::accepted);
    CHECK(t.ack(id(2), nullptr, "m2") == AckResult::accepted);
    CHECK(t.ack(id(3)) == AckResult::accepted);  // without metadata: keeps m2
    const auto adv = t.take_advance();
    REQUIRE(adv.has_value());
    REQUIRE(adv->metadata.has_value());
    CHECK(*adv->metadata == "m2");
  }
  SUBCASE("out-of-order acks: event order decides, not ack order") {
    auto t = delivered({1, 2});
    CHECK(t.ack(id(2), nullptr, "m2") == AckResult::accepted);
    CHECK(t.ack(id(1), nullptr, "m1") == AckResult::accepted);
    const auto adv = t.take_advance();
    REQUIRE(adv.has_value());
    REQUIRE(adv->metadata.has_value());
    CHECK(*adv->metadata == "m2");
  }
  SUBCASE("an advance without metadata has none") {
    auto t = delivered({1, 2});
    CHECK(t.ack(id(1), nullptr, "m1") == AckResult::accepted);
    REQUIRE(t.take_advance().has_value());
    CHECK(t.ack(id(2)) == AckResult::accepted);
    const auto adv = t.take_advance();
    REQUIRE(adv.has_value());
    CHECK_FALSE(adv->metadata.has_value());
  }
}

TEST_CASE("was_delivered_outstanding is true only for delivered, uncovered events") {
  auto t = delivered({1, 3});
  CHECK(t.was_delivered_outstanding(id(1)));
  CHECK(t.was_delivered_outstanding(id(3)));
  CHECK_FALSE(t.was_delivered_outstanding(id(2)));
  CHECK(t.ack(id(3)) == AckResult::accepted);
  CHECK(t.was_delivered_outstanding(id(3)));  // acked but not covered yet
  CHECK(t.ack(id(1)) == AckResult::accepted);
  REQUIRE(t.take_advance().has_value());
  CHECK_FALSE(t.was_delivered_outstanding(id(1)));
  CHECK_FALSE(t.was_delivered_outstanding(id(3)));
}
