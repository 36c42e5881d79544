// RESP: command encoding and the incremental reply decoder.
#include "redis/resp.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

using streamckpt::errc;
using streamckpt::redis::Command;
using streamckpt::redis::command;
using streamckpt::redis::Decoder;
using streamckpt::redis::encode;
using streamckpt::redis::Value;

namespace {

std::string encoded(const Command& args) {
  std::string out;
  encode(out, args);
  return out;
}

// Feeds `bytes` one at a time; no reply may complete before the last byte.
Value decode_bytewise(std::string_view bytes) {
  Decoder d;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    d.feed(bytes.substr(i, 1));
    auto r = d.next();
    CAPTURE(i);
    REQUIRE(r.has_value());
    if (i + 1 < bytes.size()) {
      REQUIRE_FALSE(r->has_value());
    } else {
      REQUIRE(r->has_value());
      auto more = d.next();
      REQUIRE(more.has_value());
      CHECK_FALSE(more->has_value());
      return std::move(**r);
    }
  }
  FAIL("no bytes");
  return {};
}

}  // namespace

TEST_CASE("a command encodes as an array of bulk strings") {
  CHECK(encoded({"SET", "k", "v"}) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
  CHECK(encoded(command("PING")) == "*1\r\n$4\r\nPING\r\n");
  CHECK(encoded({"ECHO", ""}) == "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n");
}

TEST_CASE("encode appends to what the buffer holds") {
  std::string out = "prefix";
  encode(out, {"PING"});
  CHECK(out == "prefix*1\r\n$4\r\nPING\r\n");
}

TEST_CASE("command arguments are binary-safe (CR, LF and NUL)") {
  const std::string crlf = "a\r\nb";
  const std::string nul("x\0y", 3);
  const std::string want = std::string("*3\r\n$3\r\nSET\r\n$4\r\na\r\nb\r\n$3\r\nx") + '\0' + "y\r\n";
  CHECK(encoded({"SET", crlf, nul}) == want);

  // The decoder reads the encoding back as the same arguments.
  const auto v = decode_bytewise(want);
  REQUIRE(v.is_array());
  REQUIRE(v.elements.size() == 3);
  CHECK(v.elements[0].str == "SET");
  CHECK(v.elements[1].str == crlf);
  CHECK(v.elements[2].str == nul);
  CHECK(v.elements[2].str.size() == 3);
}

TEST_CASE("a status reply fed byte by byte is assembled") {
  const auto v = decode_bytewise("+OK\r\n");
  CHECK(v.type == Value::Type::status);
  CHECK(v.str == "OK");
  CHECK(v.is_string());
  CHECK_FALSE(v.is_error());
}

TEST_CASE("an integer reply fed byte by byte is assembled") {
  const auto v = decode_bytewise(":42\r\n");
  CHECK(v.type == Value::Type::integer);
  CHECK(v.integer == 42);
  CHECK(decode_bytewise(":-7\r\n").integer == -7);
}

TEST_CASE("a bulk string reply fed byte by byte is assembled") {
  const auto v = decode_bytewise("$5\r\nhe\r\no\r\n");
  CHECK(v.type == Value::Type::string);
  CHECK(v.str == "he\r\no");
}

TEST_CASE("a nil bulk string and a nil array decode as nil") {
  const auto v = decode_bytewise("$-1\r\n");
  CHECK(v.type == Value::Type::nil);
  CHECK(v.is_nil());
  CHECK_FALSE(v.is_string());
  CHECK(decode_bytewise("*-1\r\n").is_nil());
}

TEST_CASE("an error reply keeps its message and exposes its prefix") {
  const auto v = decode_bytewise("-ERR bad\r\n");
  CHECK(v.type == Value::Type::error);
  CHECK(v.is_error());
  CHECK(v.str == "ERR bad");
  CHECK(v.error_prefix() == "ERR");

  const auto w = decode_bytewise("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
  CHECK(w.error_prefix() == "WRONGTYPE");
  CHECK(decode_bytewise("-NOGROUP\r\n").error_prefix() == "NOGROUP");
  CHECK(decode_bytewise("+OK\r\n").error_prefix().empty());
}

TEST_CASE("nested arrays fed byte by byte are assembled") {
  const auto v = decode_bytewise("*2\r\n*1\r\n$1\r\na\r\n:1\r\n");
  REQUIRE(v.is_array());
  REQUIRE(v.elements.size() == 2);
  const auto& inner = v.elements[0];
  REQUIRE(inner.is_array());
  REQUIRE(inner.elements.size() == 1);
  CHECK(inner.elements[0].type == Value::Type::string);
  CHECK(inner.elements[0].str == "a");
  CHECK(v.elements[1].type == Value::Type::integer);
  CHECK(v.elements[1].integer == 1);

  const auto empty = decode_bytewise("*0\r\n");
  CHECK(empty.is_array());
  CHECK(empty.elements.empty());
}

TEST_CASE("two replies in one feed come out in order") {
  Decoder d;
  d.feed("+first\r\n:2\r\n$3\r\nth");
  auto a = d.next();
  REQUIRE(a.has_value());
  REQUIRE(a->has_value());
  CHECK((*a)->str == "first");
  auto b = d.next();
  REQUIRE(b.has_value());
  REQUIRE(b->has_value());
  CHECK((*b)->integer == 2);
  auto c = d.next();
  REQUIRE(c.has_value());
  CHECK_FALSE(c->has_value());  // the third is incomplete
  d.feed("r\r\n");
  c = d.next();
  REQUIRE(c.has_value());
  REQUIRE(c->has_value());
  CHECK((*c)->str == "thr");
}

TEST_CASE("bytes that are not RESP are a protocol error") {
  Decoder d;
  d.feed("?x\r\n");
  const auto r = d.next();
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == errc::protocol_error);
}

TEST_CASE("an empty decoder has no reply") {
  Decoder d;
  const auto r = d.next();
  REQUIRE(r.has_value());
  CHECK_FALSE(r->has_value());
}

TEST_CASE("an array header's count is not trusted: two billion announced, three received") {
  // Before, the decoder sized the array from the header alone: bad_alloc
  // thrown inside hiredis, and the process died.
  Decoder d;
  d.feed("*2000000000\r\n:1\r\n*1\r\n$1\r\nx\r\n:3\r\n");
  const auto r = d.next();
  REQUIRE(r.has_value());
  CHECK_FALSE(r->has_value());  // waiting for the rest, which never comes

  Decoder nested;
  nested.feed("*2\r\n*2147483647\r\n:1\r\n");
  const auto n = nested.next();
  REQUIRE(n.has_value());
  CHECK_FALSE(n->has_value());
}

TEST_CASE("a large array with nested arrays between its elements keeps every element") {
  // Past the up-front reservation, the element vector grows while nested
  // arrays are being filled; every element must land in its place.
  constexpr int k_entries = 5000;
  std::string bytes = "*" + std::to_string(k_entries) + "\r\n";
  for (int i = 0; i < k_entries; ++i) {
    const auto id = std::to_string(i);
    bytes += "*2\r\n$" + std::to_string(id.size()) + "\r\n" + id + "\r\n*2\r\n$1\r\nn\r\n:" + id + "\r\n";
  }
  Decoder d;
  for (std::size_t at = 0; at < bytes.size(); at += 4096) d.feed(std::string_view(bytes).substr(at, 4096));
  const auto r = d.next();
  REQUIRE(r.has_value());
  REQUIRE(r->has_value());
  const Value& v = **r;
  REQUIRE(v.elements.size() == k_entries);
  for (int i = 0; i < k_entries; ++i) {
    CAPTURE(i);
    const auto& entry = v.elements[static_cast<std::size_t>(i)];
    REQUIRE(entry.elements.size() == 2);
    CHECK(entry.elements[0].str == std::to_string(i));
    REQUIRE(entry.elements[1].elements.size() == 2);
    CHECK(entry.elements[1].elements[0].str == "n");
    CHECK(entry.elements[1].elements[1].integer == i);
  }
}
