#include <streamckpt/redis_url.hpp>

#include <fmt/format.h>

#include <charconv>

namespace streamckpt {
namespace {

bool fail(std::string* why, std::string message) {
  if (why) *why = std::move(message);
  return false;
}

// A reason quotes a part of the text only when it lies after the text's last
// '@': a password, even in a malformed URL, always comes before one.
class Quoter {
 public:
  explicit Quoter(std::string_view text) : text_(text), last_at_(text.rfind('@')) {}

  // `part` is a view into the text.
  std::string operator()(std::string_view part) const {
    const auto offset = static_cast<std::size_t>(part.data() - text_.data());
    if (last_at_ != std::string_view::npos && offset <= last_at_) return "'***'";
    return fmt::format("'{}'", part);
  }

 private:
  std::string_view text_;
  std::size_t last_at_;
};

template <class Int>
bool parse_number(std::string_view text, Int& out) {
  if (text.empty() || (text.size() > 1 && text.front() == '0')) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

constexpr std::uint16_t k_sentinel_port = 26379;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding, for user names and passwords that contain ':' or '@'.
bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

bool parse_db(std::string_view text, std::uint32_t& db, const Quoter& quote, std::string* why) {
  if (!parse_number(text, db)) return fail(why, fmt::format("database {} is not a non-negative integer", quote(text)));
  return true;
}

// [user:password@] at the front of `rest`, removed from it. The userinfo
// ends at the last '@' before the path; a '/' in a password must be
// percent-encoded. An '@' after the first '/' is most likely a password's:
// refused before anything around it is parsed and quoted.
bool parse_userinfo(std::string_view& rest, RedisUrl& url, std::string* why) {
  if (const auto slash = rest.find('/');
      slash != std::string_view::npos && rest.find('@', slash) != std::string_view::npos)
    return fail(why, "'@' after the first '/' (write a '/' in the user or password as %2F)");
  const auto at = rest.substr(0, rest.find('/')).rfind('@');
  if (at == std::string_view::npos) return true;
  const auto userinfo = rest.substr(0, at);
  rest.remove_prefix(at + 1);
  const auto colon = userinfo.find(':');
  const auto user = userinfo.substr(0, colon);
  const auto password = colon == std::string_view::npos ? std::string_view{} : userinfo.substr(colon + 1);
  if (!percent_decode(user, url.user) || !percent_decode(password, url.password))
    return fail(why, "bad percent-encoding in the user or password");
  if (colon == std::string_view::npos) {
    // "redis://secret@host": a lone userinfo is the password, as redis-cli reads it.
    url.password = url.user;
    url.user.clear();
  }
  return true;
}

// host[:port] or [v6]:port; `address.port` keeps its default when no port is
// given.
bool parse_address(std::string_view hostport, RedisUrl::Address& address, const Quoter& quote, std::string* why) {
  std::string_view host, port;
  if (!hostport.empty() && hostport.front() == '[') {
    const auto close = hostport.find(']');
    if (close == std::string_view::npos) return fail(why, "unterminated '[' in an IPv6 host");
    host = hostport.substr(1, close - 1);
    const auto after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail(why, "unexpected characters after the IPv6 host");
      port = after.substr(1);
      if (port.empty()) return fail(why, "empty port");
    }
  } else {
    const auto colon = hostport.find(':');
    host = hostport.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = hostport.substr(colon + 1);
      if (port.empty()) return fail(why, "empty port");
    }
  }
  if (host.empty()) return fail(why, "missing host");
  if (host.find_first_of(" \t/?#@[],") != std::string_view::npos)
    return fail(why, fmt::format("invalid host {}", quote(host)));
  address.host = host;
  if (!port.empty()) {
    std::uint32_t p = 0;
    if (!parse_number(port, p) || p == 0 || p > 65535)
      return fail(why, fmt::format("port {} is not a number from 1 to 65535", quote(port)));
    address.port = static_cast<std::uint16_t>(p);
  }
  return true;
}

bool parse_tcp(std::string_view rest, RedisUrl& url, const Quoter& quote, std::string* why) {
  // [user:password@]host[:port][/db]
  if (!parse_userinfo(rest, url, why)) return false;
  std::string_view hostport = rest;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    hostport = rest.substr(0, slash);
    const auto db = rest.substr(slash + 1);
    if (!db.empty() && !parse_db(db, url.db, quote, why)) return false;
  }
  RedisUrl::Address address{{}, url.port};
  if (!parse_address(hostport, address, quote, why)) return false;
  url.host = std::move(address.host);
  url.port = address.port;
  return true;
}

// host[:port][,host[:port]…]
bool parse_hosts(std::string_view hosts, std::uint16_t default_port, RedisUrl& url, const Quoter& quote,
                 std::string* why) {
  for (;;) {
    const auto comma = hosts.find(',');
    RedisUrl::Address address{{}, default_port};
    if (!parse_address(hosts.substr(0, comma), address, quote, why)) return false;
    url.hosts.push_back(std::move(address));
    if (comma == std::string_view::npos) return true;
    hosts.remove_prefix(comma + 1);
  }
}

bool parse_sentinel(std::string_view rest, RedisUrl& url, const Quoter& quote, std::string* why) {
  // [user:password@]host[:port][,host[:port]…]/MASTER[/db]
  if (!parse_userinfo(rest, url, why)) return false;
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos || slash + 1 == rest.size())
    return fail(why, "a redis+sentinel:// URL names its master after the hosts: redis+sentinel://host:26379/MASTER");
  auto path = rest.substr(slash + 1);
  if (!parse_hosts(rest.substr(0, slash), k_sentinel_port, url, quote, why)) return false;
  const auto db_slash = path.find('/');
  const auto master = path.substr(0, db_slash);
  if (master.empty()) return fail(why, "empty master name");
  if (master.find_first_of(" \t?#") != std::string_view::npos)
    return fail(why, fmt::format("invalid master name {}", quote(master)));
  url.master = master;
  if (db_slash != std::string_view::npos) {
    const auto db = path.substr(db_slash + 1);
    if (!db.empty() && !parse_db(db, url.db, quote, why)) return false;
  }
  return true;
}

bool parse_cluster(std::string_view rest, RedisUrl& url, const Quoter& quote, std::string* why) {
  // [user:password@]host[:port][,host[:port]…]
  if (!parse_userinfo(rest, url, why)) return false;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    if (slash + 1 != rest.size())
      return fail(why, "a Redis Cluster has database 0 only: redis+cluster:// takes no database");
    rest.remove_suffix(1);
  }
  return parse_hosts(rest, 6379, url, quote, why);
}

bool parse_unix(std::string_view rest, RedisUrl& url, const Quoter& quote, std::string* why) {
  // unix:///path[?db=N]
  if (rest.empty() || rest.front() != '/')
    return fail(why, "a unix:// URL needs an absolute path: unix:///path/to/redis.sock");
  const auto q = rest.find('?');
  url.path = rest.substr(0, q);
  if (q != std::string_view::npos) {
    const auto query = rest.substr(q + 1);
    if (query.substr(0, 3) != "db=") return fail(why, fmt::format("unknown query {} (only db=N)", quote(query)));
    if (!parse_db(query.substr(3), url.db, quote, why)) return false;
  }
  return true;
}

}  // namespace

Result<RedisUrl> RedisUrl::parse(std::string_view text, std::string* why) {
  RedisUrl url;
  bool ok = false;
  const Quoter quote(text);
  if (text.substr(0, 8) == "redis://") {
    ok = parse_tcp(text.substr(8), url, quote, why);
  } else if (text.substr(0, 9) == "rediss://") {
    url.scheme = Scheme::tls;
    ok = parse_tcp(text.substr(9), url, quote, why);
  } else if (text.substr(0, 17) == "redis+sentinel://") {
    url.scheme = Scheme::sentinel;
    ok = parse_sentinel(text.substr(17), url, quote, why);
  } else if (text.substr(0, 16) == "redis+cluster://") {
    url.scheme = Scheme::cluster;
    ok = parse_cluster(text.substr(16), url, quote, why);
  } else if (text.substr(0, 7) == "unix://") {
    url.scheme = Scheme::unix_socket;
    ok = parse_unix(text.substr(7), url, quote, why);
  } else {
    ok = fail(why, "expected redis://, rediss://, unix://, redis+sentinel:// or redis+cluster://");
  }
  if (!ok) return errc::invalid_url;
  return url;
}

std::string RedisUrl::redact(std::string_view text) {
  const auto last_at = text.rfind('@');
  if (last_at == std::string_view::npos) return std::string(text);
  // Only a known scheme is kept: whatever else precedes the '@' may be a
  // password's.
  std::string_view scheme;
  for (const std::string_view known : {"redis://", "rediss://", "unix://", "redis+sentinel://", "redis+cluster://"})
    if (text.substr(0, known.size()) == known) scheme = known;
  return fmt::format("{}***{}", scheme, text.substr(last_at));
}

namespace {

std::string percent_encode(std::string_view text) {
  std::string out;
  for (const unsigned char c : text) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                            c == '.' || c == '_' || c == '~';
    if (unreserved)
      out.push_back(static_cast<char>(c));
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

std::string address_text(std::string_view host, std::uint16_t port) {
  const bool v6 = host.find(':') != std::string_view::npos;
  return fmt::format("{}{}{}:{}", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

// The URL with `auth` as its userinfo ("" for none).
std::string format_url(const RedisUrl& url, const std::string& auth) {
  using Scheme = RedisUrl::Scheme;
  const auto db = url.db ? fmt::format("/{}", url.db) : std::string{};
  switch (url.scheme) {
    case Scheme::unix_socket:
      return url.db ? fmt::format("unix://{}?db={}", url.path, url.db) : fmt::format("unix://{}", url.path);
    case Scheme::tcp:
    case Scheme::tls:
      return fmt::format("{}://{}{}{}", url.scheme == Scheme::tls ? "rediss" : "redis", auth,
                         address_text(url.host, url.port), db);
    case Scheme::sentinel:
    case Scheme::cluster: {
      std::string hosts;
      for (const auto& s : url.hosts) hosts += (hosts.empty() ? "" : ",") + address_text(s.host, s.port);
      if (url.scheme == Scheme::cluster) return fmt::format("redis+cluster://{}{}", auth, hosts);
      return fmt::format("redis+sentinel://{}{}/{}{}", auth, hosts, url.master, db);
    }
  }
  return {};
}

}  // namespace

std::string RedisUrl::redacted() const {
  return format_url(*this, password.empty() ? std::string{} : fmt::format("{}:***@", user));
}

std::string RedisUrl::text() const {
  return format_url(
      *this, password.empty() ? std::string{} : fmt::format("{}:{}@", percent_encode(user), percent_encode(password)));
}

std::string RedisUrl::Address::text() const { return address_text(host, port); }

}  // namespace streamckpt
