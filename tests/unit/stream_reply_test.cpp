// Parsing of XREAD/XREADGROUP, XINFO STREAM and XINFO GROUPS replies, decoded
// from the RESP2 bytes a Redis 7 server sends.
#include "consumer/stream_reply.hpp"

#include "resp_values.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

using streamckpt::errc;
using streamckpt::StreamId;
using streamckpt::detail::parse_read_reply;
using streamckpt::detail::parse_xinfo_groups;
using streamckpt::detail::parse_xinfo_stream;
using streamckpt::redis::Decoder;
using streamckpt::redis::Value;
using streamckpt::test::array;
using streamckpt::test::str;

namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

// "$3\r\nabc\r\n"
std::string bulk(std::string_view s) { return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n"; }
std::string arr(std::size_t n) { return "*" + std::to_string(n) + "\r\n"; }
std::string num(long long n) { return ":" + std::to_string(n) + "\r\n"; }
const std::string nil_array = "*-1\r\n";

Value decode(const std::string& resp) {
  Decoder d;
  d.feed(resp);
  auto r = d.next();
  REQUIRE(r.has_value());
  REQUIRE(r->has_value());
  auto rest = d.next();
  REQUIRE(rest.has_value());
  REQUIRE_FALSE(rest->has_value());  // exactly one reply
  return std::move(**r);
}

}  // namespace

TEST_CASE("an XREAD reply yields its entries with their fields in order") {
  // XREAD COUNT 10 STREAMS orders 0 → [[orders, [[1-0, [a, 1, b, 2]], [1-1, [c, 3]]]]]
  const auto reply = decode(arr(1) + arr(2) + bulk("orders") + arr(2) + arr(2) + bulk("1-0") + arr(4) + bulk("a") +
                            bulk("1") + bulk("b") + bulk("2") + arr(2) + bulk("1-1") + arr(2) + bulk("c") + bulk("3"));
  const auto entries = parse_read_reply(reply);
  REQUIRE(entries.has_value());
  REQUIRE(entries->size() == 2);
  const auto& e0 = (*entries)[0];
  CHECK(e0.event.id == StreamId(1, 0));
  CHECK_FALSE(e0.deleted);
  CHECK(e0.event.fields == Fields{{"a", "1"}, {"b", "2"}});
  const auto& e1 = (*entries)[1];
  CHECK(e1.event.id == StreamId(1, 1));
  CHECK_FALSE(e1.deleted);
  CHECK(e1.event.fields == Fields{{"c", "3"}});
}

TEST_CASE("binary field values survive parsing") {
  const std::string value("x\r\n\0y", 5);
  const auto reply =
      decode(arr(1) + arr(2) + bulk("s") + arr(1) + arr(2) + bulk("7-3") + arr(2) + bulk("k") + bulk(value));
  const auto entries = parse_read_reply(reply);
  REQUIRE(entries.has_value());
  REQUIRE(entries->size() == 1);
  CHECK((*entries)[0].event.id == StreamId(7, 3));
  REQUIRE((*entries)[0].event.fields.size() == 1);
  CHECK((*entries)[0].event.fields[0].second == value);
}

TEST_CASE("a nil reply (BLOCK timed out) is an empty list") {
  const auto reply = decode(nil_array);
  REQUIRE(reply.is_nil());
  const auto entries = parse_read_reply(reply);
  REQUIRE(entries.has_value());
  CHECK(entries->empty());
}

TEST_CASE("a stream with no entries in the reply yields none") {
  const auto entries = parse_read_reply(decode(arr(1) + arr(2) + bulk("s") + arr(0)));
  REQUIRE(entries.has_value());
  CHECK(entries->empty());
}

TEST_CASE("a pending entry with a nil payload is reported deleted") {
  // XREADGROUP … STREAMS s 0 after the entry 2-0 was XDELed while pending.
  const auto reply = decode(arr(1) + arr(2) + bulk("s") + arr(2) + arr(2) + bulk("2-0") + nil_array + arr(2) +
                            bulk("3-0") + arr(2) + bulk("f") + bulk("v"));
  const auto entries = parse_read_reply(reply);
  REQUIRE(entries.has_value());
  REQUIRE(entries->size() == 2);
  CHECK((*entries)[0].event.id == StreamId(2, 0));
  CHECK((*entries)[0].deleted);
  CHECK((*entries)[0].event.fields.empty());
  CHECK((*entries)[1].event.id == StreamId(3, 0));
  CHECK_FALSE((*entries)[1].deleted);
  CHECK((*entries)[1].event.fields == Fields{{"f", "v"}});
}

TEST_CASE("a hand-built read reply parses like a decoded one") {
  Value nil;
  const auto reply = array({array({str("s"), array({array({str("9-9"), nil})})})});
  const auto entries = parse_read_reply(reply);
  REQUIRE(entries.has_value());
  REQUIRE(entries->size() == 1);
  CHECK((*entries)[0].event.id == StreamId(9, 9));
  CHECK((*entries)[0].deleted);
}

TEST_CASE("a malformed read reply is a protocol error") {
  const std::string cases[] = {
      num(1),                                                                            // not an array
      arr(1) + bulk("s"),                                                                // stream not an array
      arr(1) + arr(1) + bulk("s"),                                                       // no entry list
      arr(1) + arr(2) + bulk("s") + num(3),                                              // entries not an array
      arr(1) + arr(2) + bulk("s") + arr(1) + arr(1) + bulk("1-0"),                       // entry without payload
      arr(1) + arr(2) + bulk("s") + arr(1) + arr(2) + bulk("x") + arr(0),                // bad ID
      arr(1) + arr(2) + bulk("s") + arr(1) + arr(2) + bulk("1-0") + arr(1) + bulk("f"),  // odd fields
      arr(1) + arr(2) + bulk("s") + arr(1) + arr(2) + bulk("1-0") + num(5),              // payload not an array
  };
  for (const auto& resp : cases) {
    CAPTURE(resp);
    const auto r = parse_read_reply(decode(resp));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == errc::protocol_error);
  }
}

TEST_CASE("XINFO STREAM (RESP2 flat array) yields the stream's state") {
  const auto reply = decode(arr(20) + bulk("length") + num(2) + bulk("radix-tree-keys") + num(1) +
                            bulk("radix-tree-nodes") + num(2) + bulk("last-generated-id") + bulk("1700000000005-3") +
                            bulk("max-deleted-entry-id") + bulk("1700000000001-0") + bulk("entries-added") + num(7) +
                            bulk("recorded-first-entry-id") + bulk("1700000000004-0") + bulk("groups") + num(1) +
                            bulk("first-entry") + arr(2) + bulk("1700000000004-0") + arr(2) + bulk("f") + bulk("v") +
                            bulk("last-entry") + arr(2) + bulk("1700000000005-3") + arr(2) + bulk("g") + bulk("w"));
  const auto s = parse_xinfo_stream(reply);
  REQUIRE(s.has_value());
  CHECK(s->exists);
  CHECK(s->length == 2);
  CHECK(s->last_generated == StreamId(1700000000005ULL, 3));
  CHECK(s->max_deleted == StreamId(1700000000001ULL, 0));
  CHECK(s->entries_added == 7);
  REQUIRE(s->first_entry.has_value());
  CHECK(*s->first_entry == StreamId(1700000000004ULL, 0));
}

TEST_CASE("XINFO STREAM of an empty stream has no first entry") {
  const auto reply = decode(arr(10) + bulk("length") + num(0) + bulk("last-generated-id") + bulk("5-0") +
                            bulk("max-deleted-entry-id") + bulk("5-0") + bulk("entries-added") + num(5) +
                            bulk("first-entry") + nil_array);
  const auto s = parse_xinfo_stream(reply);
  REQUIRE(s.has_value());
  CHECK(s->length == 0);
  CHECK(s->last_generated == StreamId(5, 0));
  CHECK(s->max_deleted == StreamId(5, 0));
  CHECK(s->entries_added == 5);
  CHECK_FALSE(s->first_entry.has_value());
}

TEST_CASE("XINFO STREAM from Redis 6 (no max-deleted-entry-id, no entries-added) leaves them zero") {
  const auto reply = decode(arr(6) + bulk("length") + num(3) + bulk("last-generated-id") + bulk("3-0") +
                            bulk("first-entry") + arr(2) + bulk("1-0") + arr(2) + bulk("f") + bulk("v"));
  const auto s = parse_xinfo_stream(reply);
  REQUIRE(s.has_value());
  CHECK(s->length == 3);
  CHECK(s->last_generated == StreamId(3, 0));
  CHECK(s->max_deleted == StreamId(0, 0));
  CHECK(s->entries_added == 0);
  REQUIRE(s->first_entry.has_value());
  CHECK(*s->first_entry == StreamId(1, 0));
}

TEST_CASE("XINFO STREAM without length or last-generated-id is a protocol error") {
  const std::string cases[] = {
      arr(2) + bulk("last-generated-id") + bulk("1-0"),
      arr(2) + bulk("length") + num(1),
      arr(4) + bulk("length") + num(-1) + bulk("last-generated-id") + bulk("1-0"),
      arr(4) + bulk("length") + num(1) + bulk("last-generated-id") + bulk("nope"),
      num(3),
  };
  for (const auto& resp : cases) {
    CAPTURE(resp);
    const auto r = parse_xinfo_stream(decode(resp));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == errc::protocol_error);
  }
}

TEST_CASE("XINFO GROUPS yields each group's name, last-delivered-id and pending count") {
  const auto group = [](std::string_view name, std::string_view last, long long pending) {
    return arr(12) + bulk("name") + bulk(name) + bulk("consumers") + num(1) + bulk("pending") + num(pending) +
           bulk("last-delivered-id") + bulk(last) + bulk("entries-read") + num(9) + bulk("lag") + num(0);
  };
  const auto reply = decode(arr(2) + group("billing", "9-1", 4) + group("audit", "0-0", 0));
  const auto groups = parse_xinfo_groups(reply);
  REQUIRE(groups.has_value());
  REQUIRE(groups->size() == 2);
  CHECK((*groups)[0].name == "billing");
  CHECK((*groups)[0].last_delivered == StreamId(9, 1));
  CHECK((*groups)[0].pending == 4);
  CHECK((*groups)[1].name == "audit");
  CHECK((*groups)[1].last_delivered == StreamId(0, 0));
  CHECK((*groups)[1].pending == 0);
}

TEST_CASE("XINFO GROUPS of a stream without groups is an empty list") {
  const auto groups = parse_xinfo_groups(decode(arr(0)));
  REQUIRE(groups.has_value());
  CHECK(groups->empty());
}

TEST_CASE("a malformed XINFO GROUPS reply is a protocol error") {
  const std::string cases[] = {
      num(1),
      arr(1) + arr(2) + bulk("name") + bulk("g"),                                          // no last-delivered-id
      arr(1) + arr(4) + bulk("name") + bulk("g") + bulk("last-delivered-id") + bulk("x"),  // bad ID
      arr(1) + arr(4) + bulk("name") + num(1) + bulk("last-delivered-id") + bulk("1-0"),   // name not a string
  };
  for (const auto& resp : cases) {
    CAPTURE(resp);
    const auto r = parse_xinfo_groups(decode(resp));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == errc::protocol_error);
  }
}
