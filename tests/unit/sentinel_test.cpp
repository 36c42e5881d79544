// What Sentinel's and ROLE's replies mean, with no server: the master's
// address or why there is none, the role, and which Sentinel is asked first.
#include "redis/sentinel.hpp"

#include "resp_values.hpp"

#include <doctest/doctest.h>

using streamckpt::errc;
using streamckpt::redis::Url;
using namespace streamckpt::redis;
using namespace streamckpt::test;

TEST_CASE("the master's address from SENTINEL get-master-addr-by-name") {
  CHECK(ask_master_command("orders-main") == Command{"SENTINEL", "get-master-addr-by-name", "orders-main"});
  std::string why;
  const auto found = master_address(array({str("10.0.0.7"), str("6380")}), "orders-main", &why);
  REQUIRE(found.has_value());
  CHECK(*found == Url::Address{"10.0.0.7", 6380});
  CHECK(why.empty());
}

TEST_CASE("no address: the reason says why") {
  struct Case {
    Value reply;
    const char* why;
  };
  const Case cases[] = {
      {Value{}, "it knows no master named 'm'"},
      {error("ERR unknown command 'SENTINEL'"), "it refused: ERR unknown command 'SENTINEL'"},
      {array({str("h")}), "it gave an unexpected reply to SENTINEL get-master-addr-by-name"},
      {array({str(""), str("6379")}), "it gave an unexpected reply to SENTINEL get-master-addr-by-name"},
      {array({str("h"), integer(6379)}), "it gave an unexpected reply to SENTINEL get-master-addr-by-name"},
      {str("h:6379"), "it gave an unexpected reply to SENTINEL get-master-addr-by-name"},
      {array({str("h"), str("0")}), "it named port '0' for master 'm'"},
      {array({str("h"), str("65536")}), "it named port '65536' for master 'm'"},
      {array({str("h"), str("63x")}), "it named port '63x' for master 'm'"},
  };
  for (const auto& c : cases) {
    std::string why;
    const auto found = master_address(c.reply, "m", &why);
    REQUIRE_FALSE(found.has_value());
    CHECK(found.error() == errc::connect_failed);
    CHECK(why == c.why);
  }
}

TEST_CASE("ROLE's first element is the role") {
  CHECK(role_of(array({str("master"), integer(100), array({})})) == "master");
  CHECK(role_of(array({str("slave"), str("127.0.0.1"), integer(6379), str("connected"), integer(100)})) == "slave");
  CHECK(role_of(array({})).empty());
  CHECK(role_of(error("NOPERM")).empty());
  CHECK(role_of(str("master")).empty());
}

TEST_CASE("the Sentinel that answered is asked first next time; the others keep their order") {
  std::vector<Url::Address> s{{"a", 1}, {"b", 2}, {"c", 3}, {"d", 4}};
  prefer(s, 2);
  CHECK(s == std::vector<Url::Address>{{"c", 3}, {"a", 1}, {"b", 2}, {"d", 4}});
  prefer(s, 0);
  CHECK(s == std::vector<Url::Address>{{"c", 3}, {"a", 1}, {"b", 2}, {"d", 4}});
  prefer(s, 3);
  CHECK(s == std::vector<Url::Address>{{"d", 4}, {"c", 3}, {"a", 1}, {"b", 2}});
  prefer(s, 9);  // out of range: unchanged
  CHECK(s.front() == Url::Address{"d", 4});
}

TEST_CASE("a +switch-master message for our master gives its new address; anything else gives none") {
  const auto message = [](std::string text) {
    return array({str("message"), str("+switch-master"), str(std::move(text))});
  };
  CHECK(switched_master(message("m 127.0.0.1 7001 127.0.0.1 7002"), "m") == Url::Address{"127.0.0.1", 7002});
  CHECK(switched_master(message("m ::1 7001 ::1 7002"), "m") == Url::Address{"::1", 7002});
  CHECK_FALSE(switched_master(message("other 127.0.0.1 7001 127.0.0.1 7002"), "m"));
  CHECK_FALSE(switched_master(message("m 127.0.0.1 7001 127.0.0.1"), "m"));
  CHECK_FALSE(switched_master(message("m 127.0.0.1 7001 127.0.0.1 0"), "m"));
  CHECK_FALSE(switched_master(message("m 127.0.0.1 7001 127.0.0.1 70000"), "m"));
  CHECK_FALSE(switched_master(message("m 127.0.0.1 7001 127.0.0.1 7002 extra"), "m"));
  CHECK_FALSE(switched_master(array({str("subscribe"), str("+switch-master"), integer(1)}), "m"));
  CHECK_FALSE(switched_master(array({str("message"), str("+sdown"), str("m 127.0.0.1 7001 127.0.0.1 7002")}), "m"));
  CHECK_FALSE(switched_master(str("message"), "m"));
}
