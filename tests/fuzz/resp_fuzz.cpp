// Fuzz target: the incremental RESP reply decoder, and command encoding.
#include "fuzz_check.hpp"

#include "redis/resp.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using streamckpt::redis::Command;
using streamckpt::redis::Decoder;
using streamckpt::redis::Value;

namespace {

bool same(const Value& a, const Value& b) {
  if (a.type != b.type || a.str != b.str || a.integer != b.integer || a.elements.size() != b.elements.size())
    return false;
  for (std::size_t i = 0; i < a.elements.size(); ++i)
    if (!same(a.elements[i], b.elements[i])) return false;
  return true;
}

// What a stream of bytes decodes to: the replies, then whether the decoder
// reported a protocol error (after which it may not be fed again).
struct Outcome {
  std::vector<Value> replies;
  bool failed = false;
};

bool same(const Outcome& a, const Outcome& b) {
  if (a.failed != b.failed || a.replies.size() != b.replies.size()) return false;
  for (std::size_t i = 0; i < a.replies.size(); ++i)
    if (!same(a.replies[i], b.replies[i])) return false;
  return true;
}

// Feeds `bytes` in chunks whose lengths `chunk_length(offset)` chooses, taking
// every reply that completes after each chunk.
template <class ChunkLength>
Outcome decode(std::string_view bytes, ChunkLength chunk_length) {
  Decoder decoder;
  Outcome out;
  std::size_t offset = 0;
  while (offset < bytes.size()) {
    const auto n = chunk_length(offset);
    FUZZ_CHECK(n > 0);
    decoder.feed(bytes.substr(offset, n));
    offset += n;
    for (;;) {
      auto reply = decoder.next();
      if (!reply) {
        out.failed = true;
        return out;
      }
      if (!*reply) break;
      out.replies.push_back(std::move(**reply));
    }
  }
  return out;
}

// RESP2 for a decoded reply. Status and error lines cannot contain "\r\n" (a
// line ends at the first one), so the encoding is unambiguous.
void encode_reply(std::string& out, const Value& v) {
  switch (v.type) {
    case Value::Type::string:
      out += "$" + std::to_string(v.str.size()) + "\r\n" + v.str + "\r\n";
      break;
    case Value::Type::status:
      out += "+" + v.str + "\r\n";
      break;
    case Value::Type::error:
      out += "-" + v.str + "\r\n";
      break;
    case Value::Type::integer:
      out += ":" + std::to_string(v.integer) + "\r\n";
      break;
    case Value::Type::nil:
      out += "$-1\r\n";
      break;
    case Value::Type::array:
      out += "*" + std::to_string(v.elements.size()) + "\r\n";
      for (const auto& e : v.elements) encode_reply(out, e);
      break;
  }
}

// The input as command arguments: split at every '\n'.
Command arguments(std::string_view bytes) {
  Command args;
  for (;;) {
    const auto end = bytes.find('\n');
    args.emplace_back(bytes.substr(0, end));
    if (end == std::string_view::npos) return args;
    bytes.remove_prefix(end + 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  // Where a chunk ends depends on the input itself, so the fuzzer steers the
  // split points; the result may not depend on them.
  const auto whole = decode(bytes, [&](std::size_t offset) { return bytes.size() - offset; });
  const auto chunked = decode(bytes, [&](std::size_t offset) { return std::size_t{1} + (data[offset] & 7u); });
  const auto bytewise = decode(bytes, [](std::size_t) { return std::size_t{1}; });
  FUZZ_CHECK(same(whole, chunked));
  FUZZ_CHECK(same(whole, bytewise));

  // Every reply re-encodes to bytes that decode to the same reply.
  for (const auto& reply : whole.replies) {
    std::string encoded;
    encode_reply(encoded, reply);
    const auto again = decode(encoded, [&](std::size_t offset) { return encoded.size() - offset; });
    FUZZ_CHECK(!again.failed);
    FUZZ_CHECK(again.replies.size() == 1);
    FUZZ_CHECK(same(again.replies.front(), reply));
  }

  // A command decodes as the array of its arguments as bulk strings.
  const auto args = arguments(bytes);
  std::string command;
  streamckpt::redis::encode(command, args);
  const auto decoded = decode(command, [&](std::size_t offset) { return command.size() - offset; });
  FUZZ_CHECK(!decoded.failed);
  FUZZ_CHECK(decoded.replies.size() == 1);
  const auto& array = decoded.replies.front();
  FUZZ_CHECK(array.type == Value::Type::array);
  FUZZ_CHECK(array.elements.size() == args.size());
  for (std::size_t i = 0; i < args.size(); ++i) {
    FUZZ_CHECK(array.elements[i].type == Value::Type::string);
    FUZZ_CHECK(array.elements[i].str == args[i]);
  }
  return 0;
}
