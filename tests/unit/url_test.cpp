// Redis URL parsing: what is accepted, what is refused and why, and redaction.
#include "redis/url.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

using streamckpt::errc;
using streamckpt::redis::Url;

namespace {

Url must_parse(std::string_view text) {
  std::string why;
  const auto url = Url::parse(text, &why);
  INFO("URL '", std::string(text), "': ", why);
  REQUIRE(url.has_value());
  return *url;
}

}  // namespace

TEST_CASE("redis://h is TCP to port 6379, database 0, without AUTH") {
  const auto u = must_parse("redis://h");
  CHECK(u.scheme == Url::Scheme::tcp);
  CHECK(u.host == "h");
  CHECK(u.port == 6379);
  CHECK(u.db == 0);
  CHECK(u.user.empty());
  CHECK(u.password.empty());
  CHECK(u.path.empty());
  CHECK(u.redacted() == "redis://h:6379");
}

TEST_CASE("a port and a database are read") {
  const auto p = must_parse("redis://h:6380");
  CHECK(p.host == "h");
  CHECK(p.port == 6380);
  CHECK(p.db == 0);

  const auto d = must_parse("redis://h:6380/2");
  CHECK(d.host == "h");
  CHECK(d.port == 6380);
  CHECK(d.db == 2);
  CHECK(d.redacted() == "redis://h:6380/2");

  const auto max = must_parse("redis://h:65535/4294967295");
  CHECK(max.port == 65535);
  CHECK(max.db == 4294967295u);
}

TEST_CASE("user and percent-encoded password are decoded") {
  const auto u = must_parse("redis://user:pa%40ss@h:1/3");
  CHECK(u.user == "user");
  CHECK(u.password == "pa@ss");
  CHECK(u.host == "h");
  CHECK(u.port == 1);
  CHECK(u.db == 3);
}

TEST_CASE("an empty user before ':' leaves the password only") {
  const auto u = must_parse("redis://:secret@h");
  CHECK(u.user.empty());
  CHECK(u.password == "secret");
  CHECK(u.host == "h");
  CHECK(u.port == 6379);
}

TEST_CASE("a lone userinfo is the password, as redis-cli reads it") {
  const auto u = must_parse("redis://secret@h");
  CHECK(u.user.empty());
  CHECK(u.password == "secret");
  CHECK(u.host == "h");
}

TEST_CASE("an IPv6 host in brackets is stored without them") {
  const auto u = must_parse("redis://[::1]:7000");
  CHECK(u.scheme == Url::Scheme::tcp);
  CHECK(u.host == "::1");
  CHECK(u.port == 7000);
  CHECK(u.redacted() == "redis://[::1]:7000");

  const auto no_port = must_parse("redis://[fe80::2]");
  CHECK(no_port.host == "fe80::2");
  CHECK(no_port.port == 6379);
}

TEST_CASE("rediss:// selects TLS") {
  const auto u = must_parse("rediss://h");
  CHECK(u.scheme == Url::Scheme::tls);
  CHECK(u.host == "h");
  CHECK(u.port == 6379);
  CHECK(u.redacted() == "rediss://h:6379");
}

TEST_CASE("unix:// takes an absolute path and an optional db query") {
  const auto u = must_parse("unix:///tmp/r.sock");
  CHECK(u.scheme == Url::Scheme::unix_socket);
  CHECK(u.path == "/tmp/r.sock");
  CHECK(u.db == 0);
  CHECK(u.host.empty());
  CHECK(u.redacted() == "unix:///tmp/r.sock");

  const auto d = must_parse("unix:///tmp/r.sock?db=4");
  CHECK(d.path == "/tmp/r.sock");
  CHECK(d.db == 4);
  CHECK(d.redacted() == "unix:///tmp/r.sock?db=4");
}

TEST_CASE("malformed URLs are refused with invalid_url and a reason") {
  const char* const rejected[] = {
      "",
      "http://h",
      "redis://",
      "redis://h:0",
      "redis://h:65536",
      "redis://h:abc",
      "redis://h/x",
      "redis://h:",
      "unix://relative",
      "unix:///p?foo=1",
      "redis://[::1",
      "redis://h:06379",
      "redis://h:-1",
      "redis://h/-1",
      "redis://h/01",
      "redis://h/4294967296",
      "redis://[::1]x",
      "redis://[::1]:",
      "redis://h h",
      "redis://h?db=1",
      "redis://us%zzer:pw@h",
      "redis://user:pw%4@h",
      "unix://",
      "unix:///p?db=",
      "unix:///p?db=x",
      "redis:/h",
      "redis://[[x]",
      "redis://a]b",
      "redis://a[b:6379",
  };
  for (const char* text : rejected) {
    CAPTURE(text);
    std::string why;
    const auto url = Url::parse(text, &why);
    REQUIRE_FALSE(url.has_value());
    CHECK(url.error() == errc::invalid_url);
    CHECK_FALSE(why.empty());
  }
}

TEST_CASE("the reason names what is wrong") {
  std::string why;
  CHECK_FALSE(Url::parse("redis://h:65536", &why).has_value());
  CHECK(why.find("65536") != std::string::npos);
  CHECK_FALSE(Url::parse("http://h", &why).has_value());
  CHECK(why.find("redis://") != std::string::npos);
  CHECK_FALSE(Url::parse("redis://", &why).has_value());
  CHECK(why.find("host") != std::string::npos);
}

TEST_CASE("parse works without a `why` out-parameter") {
  CHECK_FALSE(Url::parse("redis://h:0").has_value());
  CHECK(Url::parse("redis://h").has_value());
}

TEST_CASE("redacted() never contains the password") {
  struct Case {
    const char* url;
    const char* password;
    const char* redacted;
  };
  const Case cases[] = {
      {"redis://user:pa%40ss@h:1/3", "pa@ss", "redis://user:***@h:1/3"},
      {"redis://:secret@h", "secret", "redis://:***@h:6379"},
      {"redis://secret@h", "secret", "redis://:***@h:6379"},
      {"rediss://alice:Tr0ub4dor@[::1]:7000/5", "Tr0ub4dor", "rediss://alice:***@[::1]:7000/5"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.url);
    const auto u = must_parse(c.url);
    CHECK(u.password == c.password);
    const auto r = u.redacted();
    CHECK(r == c.redacted);
    CHECK(r.find(c.password) == std::string::npos);
  }
}

TEST_CASE("neither the reason nor redact() of a malformed URL contains its password") {
  const std::string slash_in_password = "'@' after the first '/' (write a '/' in the user or password as %2F)";
  struct Case {
    const char* url;
    const char* password;
    const char* redacted;
    std::string why;
  };
  const Case cases[] = {
      {"redis://:s3cr:t@/x@127.0.0.1:6379", "s3cr:t@/x", "redis://***@127.0.0.1:6379", slash_in_password},
      {"redis://user:pa/ss@h", "pa/ss", "redis://***@h", slash_in_password},
      {"rediss://user:pa/ss@h:99999/x", "pa/ss", "rediss://***@h:99999/x", slash_in_password},
      {"redis://:p@ss@h/x", "p@ss", "redis://***@h/x", "database 'x' is not a non-negative integer"},
      {"redis://user:pw@h:abc", "pw", "redis://***@h:abc", "port 'abc' is not a number from 1 to 65535"},
      {"redis://:sec@ret@h h", "sec@ret", "redis://***@h h", "invalid host 'h h'"},
      {"redis://:pw%zz@h", "pw%zz", "redis://***@h", "bad percent-encoding in the user or password"},
      {"rediss://u:secret@[::1", "secret", "rediss://***@[::1", "unterminated '[' in an IPv6 host"},
      {"redis://:secret@", "secret", "redis://***@", "missing host"},
      {"redis:/:secret@h", "secret", "***@h",
       "expected redis://, rediss://, unix://, redis+sentinel:// or redis+cluster://"},
      {"secret://:x@h", "secret", "***@h",
       "expected redis://, rediss://, unix://, redis+sentinel:// or redis+cluster://"},
      {"unix://:secret@/tmp/r.sock", "secret", "unix://***@/tmp/r.sock",
       "a unix:// URL needs an absolute path: unix:///path/to/redis.sock"},
      // No userinfo in a unix:// URL, but what precedes an '@' is never quoted.
      {"unix:///tmp/r.sock?pw=secret@x", "secret", "unix://***@x", "unknown query '***' (only db=N)"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.url);
    std::string why;
    REQUIRE_FALSE(Url::parse(c.url, &why).has_value());
    CHECK(why == c.why);
    CHECK(why.find(c.password) == std::string::npos);
    const auto redacted = Url::redact(c.url);
    CHECK(redacted == c.redacted);
    CHECK(redacted.find(c.password) == std::string::npos);
  }
}

TEST_CASE("redact() hides the userinfo of a valid URL and leaves text without '@' as it is") {
  CHECK(Url::redact("redis://user:pa%40ss@h:1/3") == "redis://***@h:1/3");
  CHECK(Url::redact("redis://secret@h") == "redis://***@h");
  CHECK(Url::redact("redis://host:99999") == "redis://host:99999");
  CHECK(Url::redact("") == "");
}

TEST_CASE("redis+sentinel:// lists the Sentinels (26379 by default), then the master and the database") {
  const auto u = must_parse("redis+sentinel://app:s%3Acret@10.0.0.1,10.0.0.2:26380,[::1]:5000/orders-main/3");
  CHECK(u.scheme == Url::Scheme::sentinel);
  REQUIRE(u.hosts.size() == 3);
  CHECK(u.hosts[0] == Url::Address{"10.0.0.1", 26379});
  CHECK(u.hosts[1] == Url::Address{"10.0.0.2", 26380});
  CHECK(u.hosts[2] == Url::Address{"::1", 5000});
  CHECK(u.master == "orders-main");
  CHECK(u.db == 3);
  CHECK(u.user == "app");
  CHECK(u.password == "s:cret");
  CHECK(u.host.empty());
  CHECK(u.redacted() == "redis+sentinel://app:***@10.0.0.1:26379,10.0.0.2:26380,[::1]:5000/orders-main/3");
  CHECK(u.text() == "redis+sentinel://app:s%3Acret@10.0.0.1:26379,10.0.0.2:26380,[::1]:5000/orders-main/3");
  const auto plain = must_parse("redis+sentinel://s1/mymaster");
  CHECK(plain.hosts == std::vector<Url::Address>{{"s1", 26379}});
  CHECK(plain.master == "mymaster");
  CHECK(plain.db == 0);
  CHECK(plain.password.empty());
  CHECK(plain.redacted() == "redis+sentinel://s1:26379/mymaster");
}

TEST_CASE("a malformed redis+sentinel:// URL is refused with the reason") {
  const std::pair<const char*, const char*> rejected[] = {
      {"redis+sentinel://h", "names its master after the hosts"},
      {"redis+sentinel://h/", "names its master after the hosts"},
      {"redis+sentinel://h//2", "empty master name"},
      {"redis+sentinel://h,/m", "missing host"},
      {"redis+sentinel://,h/m", "missing host"},
      {"redis+sentinel://h:0/m", "port '0' is not a number from 1 to 65535"},
      {"redis+sentinel://h/m/x", "database 'x' is not a non-negative integer"},
      {"redis+sentinel://h/m x", "invalid master name 'm x'"},
      {"redis+sentinel:/h/m", "expected redis://, rediss://, unix://, redis+sentinel:// or redis+cluster://"},
  };
  for (const auto& [text, reason] : rejected) {
    const std::string url_text = text;
    const std::string expected = reason;
    CAPTURE(url_text);
    std::string why;
    const auto url = Url::parse(url_text, &why);
    REQUIRE_FALSE(url.has_value());
    CHECK(url.error() == errc::invalid_url);
    CHECK_MESSAGE(why.find(expected) != std::string::npos, why);
  }
}

TEST_CASE("a ',' in a host is refused, also in redis://") {
  std::string why;
  CHECK_FALSE(Url::parse("redis://a,b:6379", &why).has_value());
  CHECK(why == "invalid host 'a,b'");
}

TEST_CASE("text() gives back the URL, credentials percent-encoded") {
  for (const char* text : {"redis://h:6379", "redis://u:p%40ss@h:1/2", "rediss://:pw@[::1]:6380",
                           "unix:///run/redis.sock?db=4", "redis+sentinel://u:p@a:1,b:2/m/5"}) {
    const std::string url_text = text;
    CAPTURE(url_text);
    const auto u = must_parse(url_text);
    CHECK(u.text() == url_text);
  }
  CHECK(must_parse("redis://a%2Fb:c%20d@h").text() == "redis://a%2Fb:c%20d@h:6379");
}

TEST_CASE("redact() knows redis+sentinel://") {
  CHECK(Url::redact("redis+sentinel://u:secret@h/m") == "redis+sentinel://***@h/m");
}

TEST_CASE("redis+cluster:// lists any of the cluster's nodes (6379 by default), and takes no database") {
  const auto u = must_parse("redis+cluster://app:pw@10.0.0.1,10.0.0.2:7001/");
  CHECK(u.scheme == Url::Scheme::cluster);
  CHECK(u.hosts == std::vector<Url::Address>{{"10.0.0.1", 6379}, {"10.0.0.2", 7001}});
  CHECK(u.user == "app");
  CHECK(u.password == "pw");
  CHECK(u.db == 0);
  CHECK(u.redacted() == "redis+cluster://app:***@10.0.0.1:6379,10.0.0.2:7001");
  CHECK(u.text() == "redis+cluster://app:pw@10.0.0.1:6379,10.0.0.2:7001");
  std::string why;
  CHECK_FALSE(Url::parse("redis+cluster://h/2", &why).has_value());
  CHECK(why == "a Redis Cluster has database 0 only: redis+cluster:// takes no database");
  CHECK_FALSE(Url::parse("redis+cluster://", &why).has_value());
  CHECK(why == "missing host");
  CHECK(Url::redact("redis+cluster://u:secret@h") == "redis+cluster://***@h");
}
