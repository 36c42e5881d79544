// consume as an ACL user allowed exactly the commands docs/operations.md
// lists, in plain and in group mode: every entry is handled once, and Redis
// denies it nothing but PING (which it does without).
#include "cli.hpp"
#include "redis_server.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>
#include <set>
#include <sstream>
#include <thread>

using namespace streamckpt::test;

namespace {

// The lists of docs/operations.md, word for word.
const std::string k_plain_acl = "+type +xinfo|stream +xread +xrange +multi +exec +hgetall +hget +hset +eval +evalsha";
const std::string k_group_acl =
    "+type +xinfo|stream +xinfo|groups +xinfo|consumers +xrange +xreadgroup +xack +xpending +xclaim "
    "+xgroup|create +xgroup|setid +xgroup|delconsumer +hgetall +hget +hset +del +eval +evalsha +set +get +pexpire "
    "+pttl";

void create_user(Client& admin, const std::string& commands) {
  std::vector<std::string> args = {"ACL", "SETUSER", "edge", "reset", "on", ">edge-pw", "~*", "resetchannels"};
  std::istringstream words(commands);
  for (std::string w; words >> w;) args.push_back(w);
  const auto r = admin.run(args);
  REQUIRE(r->type == REDIS_REPLY_STATUS);
}

// The commands Redis denied, from ACL LOG.
std::set<std::string> denied(Client& admin) {
  std::set<std::string> names;
  const auto log = admin.run({"ACL", "LOG", "128"});
  for (std::size_t i = 0; i < log->elements; ++i) {
    const auto* entry = log->element[i];
    for (std::size_t j = 0; j + 1 < entry->elements; j += 2)
      if (std::string(entry->element[j]->str) == "object") names.insert(entry->element[j + 1]->str);
  }
  return names;
}

std::vector<int> one_to(int n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 1);
  return v;
}

CliResult consume_as_edge(const RedisServer& redis, const std::filesystem::path& data_dir, bool group,
                          std::vector<std::string> extra = {}) {
  ScopedEnv user("STREAMCKPT_REDIS_USER", std::string("edge"));
  ScopedEnv password("STREAMCKPT_REDIS_PASSWORD", std::string("edge-pw"));
  std::vector<std::string> args = {
      "consume", "--redis",    redis.url(),       "--stream",       "s",   "--consumer",
      "c",       "--data-dir", data_dir.string(), "--idle-exit-ms", "500", "--startup-timeout-ms",
      "0"};
  if (group) args.insert(args.end(), {"--group", "g"});
  args.insert(args.end(), extra.begin(), extra.end());
  return run_cli(args);
}

}  // namespace

TEST_CASE("plain mode runs with the documented least-privilege ACL: a complete ledger, only PING denied") {
  RedisServer redis;
  Client admin(redis.port());
  create_user(admin, k_plain_acl);
  admin.produce("s", 1, 30);
  TempDir dir;
  const auto first = consume_as_edge(redis, dir.path() / "d", false, {"--max-events", "20"});
  CHECK(first.exit_code == 0);
  admin.produce("s", 31, 10);
  // The resume looks its checkpoint up in the stream (XRANGE) and reads on.
  const auto second = consume_as_edge(redis, dir.path() / "d", false);
  CHECK(second.exit_code == 0);
  auto handled = handled_numbers(first.out);
  const auto more = handled_numbers(second.out);
  handled.insert(handled.end(), more.begin(), more.end());
  CHECK(handled == one_to(40));
  CHECK_FALSE(contains(second.err, "cannot"));
  CHECK(denied(admin) == std::set<std::string>{"ping"});
}

TEST_CASE("group mode runs with the documented least-privilege ACL: resume, claim, a complete ledger") {
  RedisServer redis;
  Client admin(redis.port());
  create_user(admin, k_group_acl);
  admin.produce("s", 1, 30);
  TempDir dir;
  // A short lease: renewed (GET, PEXPIRE) many times during the run.
  const auto first = consume_as_edge(redis, dir.path() / "d", true, {"--max-events", "20", "--lease-ttl-ms", "300"});
  CHECK(first.exit_code == 0);
  // A member that read two entries and died: the next run claims them
  // (XCLAIM) and, once nothing is pending on it, removes it.
  admin.produce("s", 31, 10);
  admin.run({"XREADGROUP", "GROUP", "g", "gone", "COUNT", "2", "STREAMS", "s", ">"});
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const auto second =
      consume_as_edge(redis, dir.path() / "d", true, {"--claim-idle-ms", "10", "--lease-ttl-ms", "300"});
  CHECK(second.exit_code == 0);
  auto handled = handled_numbers(first.out);
  const auto more = handled_numbers(second.out);
  handled.insert(handled.end(), more.begin(), more.end());
  std::sort(handled.begin(), handled.end());  // the claimed two may come in any order
  CHECK(handled == one_to(40));
  CHECK_FALSE(contains(second.err, "cannot"));
  CHECK(denied(admin) == std::set<std::string>{"ping"});
  const auto pending = admin.run({"XPENDING", "s", "g"});
  CHECK(pending->element[0]->integer == 0);
}
