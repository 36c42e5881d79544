// Taking over a dead member's pending entries: what is XACKed, what is
// claimed, and the `unxacked` list that decides it.
#include "consumer/claim_plan.hpp"
#include "redis/checkpoint_store.hpp"
#include "resp_values.hpp"

#include <doctest/doctest.h>

using streamckpt::StreamId;
using streamckpt::detail::parse_pending;
using streamckpt::detail::PendingEntry;
using streamckpt::detail::plan_claims;
using streamckpt::redis::format_id_list;
using streamckpt::redis::parse_id_list;
using streamckpt::redis::Value;
using streamckpt::test::array;
using streamckpt::test::integer;
using streamckpt::test::str;

TEST_CASE("an entry its member recorded handled is only XACKed; any other is claimed; my own are left alone") {
  const std::vector<PendingEntry> pending = {
      {StreamId(1, 0), "gone"}, {StreamId(2, 0), "gone"}, {StreamId(3, 0), "me"}, {StreamId(4, 0), "other"}};
  std::map<std::string, std::optional<std::vector<StreamId>>> handled = {
      {"gone", std::vector<StreamId>{StreamId(2, 0), StreamId(9, 0)}},
      {"other", std::nullopt},  // its list could not be read: nothing counts as handled
  };
  const auto plan = plan_claims(pending, handled, "me");
  CHECK(plan.xack == std::vector<StreamId>{StreamId(2, 0)});
  CHECK(plan.claim == std::vector<StreamId>{StreamId(1, 0), StreamId(4, 0)});
}

TEST_CASE("a member with no Redis copy at all has handled nothing that counts") {
  const auto plan = plan_claims({{StreamId(5, 0), "stranger"}}, {}, "me");
  CHECK(plan.xack.empty());
  CHECK(plan.claim == std::vector<StreamId>{StreamId(5, 0)});
}

TEST_CASE("XPENDING's extended reply is parsed; anything else is refused") {
  const auto reply = array({array({str("1-0"), str("gone"), integer(70000), integer(1)}),
                            array({str("2-5"), str("m2"), integer(61000), integer(3)})});
  const auto parsed = parse_pending(reply);
  REQUIRE(parsed.has_value());
  REQUIRE(parsed->size() == 2);
  CHECK((*parsed)[0].id == StreamId(1, 0));
  CHECK((*parsed)[0].consumer == "gone");
  CHECK((*parsed)[1].id == StreamId(2, 5));
  CHECK(parse_pending(array({}))->empty());
  CHECK_FALSE(parse_pending(str("OK")).has_value());
  CHECK_FALSE(parse_pending(array({array({str("1-0"), str("gone")})})).has_value());
  CHECK_FALSE(parse_pending(array({array({str("x"), str("gone"), integer(1), integer(1)})})).has_value());
}

TEST_CASE("the unxacked list prints IDs joined by commas and reads back exactly; garbage is refused") {
  const std::vector<StreamId> ids = {StreamId(1, 0), StreamId(1700000000000ULL, 12)};
  CHECK(format_id_list(ids) == "1-0,1700000000000-12");
  CHECK(*parse_id_list("1-0,1700000000000-12") == ids);
  CHECK(format_id_list({}).empty());
  CHECK(parse_id_list("")->empty());
  CHECK_FALSE(parse_id_list("1-0,").has_value());
  CHECK_FALSE(parse_id_list(",1-0").has_value());
  CHECK_FALSE(parse_id_list("1-0,,2-0").has_value());
  CHECK_FALSE(parse_id_list("1-0 ,2-0").has_value());
  CHECK_FALSE(parse_id_list("garbage").has_value());
}
