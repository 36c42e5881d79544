// Redis URLs as ConsumerOptions::redis_url and admin::Place take them:
// redis://[user:password@]host[:port][/db], rediss://… (TLS),
// unix:///path[?db=N], and
// redis+sentinel://[user:password@]host[:port][,host[:port]…]/MASTER[/db]:
// the Sentinels (port 26379 by default) are asked where master MASTER is;
// user and password are the master's (the Sentinels are asked without AUTH);
// and redis+cluster://[user:password@]host[:port][,host[:port]…]: any nodes
// of a Redis Cluster (port 6379 by default), asked for the slot map; the
// stream's node is the master of its slot.
// For checking a URL before use and for messages that must not show its
// password.
#pragma once

#include <streamckpt/error.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace streamckpt {

struct RedisUrl {
  enum class Scheme { tcp, tls, unix_socket, sentinel, cluster };

  struct Address {
    std::string host;  // an IPv6 address without its brackets
    std::uint16_t port = 0;
    std::string text() const;  // host:port, [v6]:port
    friend bool operator==(const Address&, const Address&) = default;
  };

  Scheme scheme = Scheme::tcp;
  std::string host;  // tcp and tls; an IPv6 address without its brackets
  std::uint16_t port = 6379;
  std::string path;      // unix_socket
  std::string user;      // empty: AUTH with the password only (or no AUTH)
  std::string password;  // empty: no AUTH
  std::uint32_t db = 0;  // SELECT when non-zero
  // sentinel: the Sentinels to ask (in the URL's order, at least one) for
  // which master; cluster: the nodes to ask for the slot map. host and port
  // are unused then.
  std::vector<Address> hosts;
  std::string master;

  // Strict: an unknown scheme, an empty host, a port outside 1..65535, a db
  // that is not a number, or a stray character is an error; `why` says which.
  // `why` never quotes what precedes the text's last '@'.
  [[nodiscard]] static Result<RedisUrl> parse(std::string_view text, std::string* why = nullptr);

  // Any text, parsed or not, for messages: everything before its last '@'
  // (but a leading redis://, rediss:// or unix://) becomes "***". A password
  // is the userinfo's, which ends at an '@': text without one is returned as
  // it is.
  static std::string redact(std::string_view text);

  // The URL with the password replaced by "***", for logs.
  std::string redacted() const;
  // The URL in full, its user and password percent-encoded: parse() gives
  // this URL back.
  std::string text() const;
};

}  // namespace streamckpt
