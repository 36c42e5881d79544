// RESP encoding and decoding. hiredis is used only as the codec: commands are
// encoded with redisFormatCommandArgv and replies decoded with a redisReader
// whose object functions build Values directly; the bytes travel over sockets
// that Asio owns.
#pragma once

#include <streamckpt/error.hpp>

#include <hiredis/hiredis.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace streamckpt::redis {

// A decoded reply, owned (hiredis's reply tree is freed as soon as it is
// converted).
struct Value {
  enum class Type { string, status, error, integer, nil, array };

  Type type = Type::nil;
  std::string str;              // string, status, error
  long long integer = 0;        // integer
  std::vector<Value> elements;  // array

  bool is_error() const noexcept { return type == Type::error; }
  bool is_nil() const noexcept { return type == Type::nil; }
  bool is_array() const noexcept { return type == Type::array; }
  bool is_string() const noexcept { return type == Type::string || type == Type::status; }
  // "WRONGTYPE", "NOGROUP", "ERR", … for an error reply; empty otherwise.
  std::string_view error_prefix() const;
};

using Command = std::vector<std::string>;

// command("XACK", stream, group, id): a Command from its arguments. Use it
// inside coroutines instead of a braced list: GCC 12 rejects braced lists of
// string literals in a co_await expression.
template <class... Args>
Command command(Args&&... args) {
  Command c;
  c.reserve(sizeof...(args));
  (c.emplace_back(std::forward<Args>(args)), ...);
  return c;
}

// Appends the RESP encoding of `args` to `out`.
void encode(std::string& out, const Command& args);

// Incremental reply decoder (sans-io): feed bytes as they arrive, take
// replies as they complete.
class Decoder {
 public:
  Decoder();

  // REQUIRES: no earlier call to next() failed.
  void feed(std::string_view bytes);
  // The next complete reply, nullopt when more bytes are needed, or
  // errc::protocol_error for bytes that are not RESP.
  [[nodiscard]] Result<std::optional<Value>> next();

 private:
  struct ReaderDeleter {
    void operator()(redisReader* r) const { redisReaderFree(r); }
  };
  std::unique_ptr<redisReader, ReaderDeleter> reader_;
};

}  // namespace streamckpt::redis
