// The operator's tools for a consumer: group describe, checkpoint set
// --to-datetime, --dry-run on set and reset, checkpoint export and import.
#include "cli.hpp"
#include "redis_server.hpp"

#include <doctest/doctest.h>

#include <ctime>
#include <fstream>
#include <numeric>
#include <regex>
#include <thread>

using namespace streamckpt::test;

namespace {

std::vector<int> range(int first, int last) {
  std::vector<int> v(static_cast<std::size_t>(last - first + 1));
  std::iota(v.begin(), v.end(), first);
  return v;
}

std::uint64_t ms_of(const std::string& id) { return std::stoull(id.substr(0, id.find('-'))); }

// `ms` as ISO 8601 in the zone `offset_minutes` east of UTC.
std::string iso8601(std::uint64_t ms, int offset_minutes) {
  const auto local = static_cast<std::time_t>(ms / 1000) + offset_minutes * 60;
  std::tm tm{};
  ::gmtime_r(&local, &tm);
  char text[64];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  char zone[16] = "Z";
  if (offset_minutes)
    std::snprintf(zone, sizeof zone, "%c%02d:%02d", offset_minutes > 0 ? '+' : '-', std::abs(offset_minutes) / 60,
                  std::abs(offset_minutes) % 60);
  char out[96];
  std::snprintf(out, sizeof out, "%s.%03u%s", text, static_cast<unsigned>(ms % 1000), zone);
  return out;
}

std::vector<std::string> consume_args(const RedisServer& redis, const std::filesystem::path& data_dir,
                                      const std::string& consumer) {
  return {"consume", "--redis",    redis.url(),       "--stream",       "s",  "--group", "g", "--consumer",
          consumer,  "--data-dir", data_dir.string(), "--idle-exit-ms", "300"};
}

}  // namespace

TEST_CASE("group describe shows the stream, the group, and each member's pending entries, checkpoints and lag") {
  RedisServer redis;
  Client client(redis.port());
  auto ids = client.produce("s", 1, 30);
  TempDir dir;
  const auto d = (dir.path() / "d").string();
  auto args = consume_args(redis, d, "c1");
  args.insert(args.end(), {"--max-events", "20"});
  REQUIRE(run_cli(args).exit_code == 0);  // read all 30, handled 20: 10 stay pending
  const auto more = client.produce("s", 31, 5);
  ids.insert(ids.end(), more.begin(), more.end());
  client.run({"XREADGROUP", "GROUP", "g", "other", "COUNT", "3", "STREAMS", "s", ">"});

  const auto r =
      run_cli({"group", "describe", "--redis", redis.url(), "--stream", "s", "--group", "g", "--data-dir", d});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  const std::regex expected("stream 's': length 35, last-generated-id " + ids[34] + ", first entry " + ids[0] +
                            ", entries-added 35\n"
                            "group 'g': last-delivered-id " +
                            ids[32] +
                            ", entries-read 33, lag 2, pending 13, members 2\n"
                            "MEMBER\tPENDING\tIDLE-MS\tREDIS-CHECKPOINT\tLOCAL-CHECKPOINT\tLAG\n"
                            "c1\t10\t[0-9]+\t" +
                            ids[19] + "\t" + ids[19] +
                            "\t15\n"
                            "other\t3\t[0-9]+\t-\t-\t-\n");
  CHECK_MESSAGE(std::regex_match(r.out, expected), r.out);

  const auto json = run_cli({"group", "describe", "--redis", redis.url(), "--stream", "s", "--group", "g", "--json"});
  CHECK(json.exit_code == 0);
  CHECK(contains(json.out, R"("group":{"name":"g","last_delivered_id":")" + ids[32] +
                               R"(","entries_read":33,"lag":2,"pending":13,"consumers":2})"));
  CHECK(contains(json.out, R"({"name":"c1","pending":10,"idle_ms":)"));
  CHECK(contains(json.out, R"("redis":{"id":")" + ids[19] + R"(","valid":true)"));
  CHECK(contains(json.out, R"("local":null,"lag":15})"));
  CHECK(contains(json.out, R"("redis":null,"local":null,"lag":null})"));

  const auto no_group = run_cli({"group", "describe", "--redis", redis.url(), "--stream", "s", "--group", "nope"});
  CHECK(no_group.exit_code == 1);
  CHECK(no_group.err == "streamckpt: error: stream 's' has no group 'nope'\n");
  const auto no_stream = run_cli({"group", "describe", "--redis", redis.url(), "--stream", "t", "--group", "g"});
  CHECK(no_stream.exit_code == 1);
  CHECK(no_stream.err == "streamckpt: error: stream 't' does not exist\n");
}

TEST_CASE("checkpoint set --to-datetime sets the last entry at or before that time, in any zone") {
  RedisServer redis;
  Client client(redis.port());
  auto ids = client.produce("s", 1, 10);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  const auto later = client.produce("s", 11, 10);
  ids.insert(ids.end(), later.begin(), later.end());
  REQUIRE(ms_of(ids[10]) > ms_of(ids[9]));
  TempDir dir;
  const auto d = (dir.path() / "d").string();
  const auto at = ms_of(ids[9]);
  for (const int offset : {0, 120, -330}) {
    const auto when = iso8601(at, offset);
    CAPTURE(when);
    const auto r = run_cli({"checkpoint", "set", "--data-dir", d, "--redis", redis.url(), "--stream", "s", "--consumer",
                            "c", "--to-datetime", when});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "--to-datetime " + when + " is " + std::to_string(at) + " ms: the last entry at or before it is " +
                       ids[9] + "\ncheckpoint set to " + ids[9] + " (epoch 0) in both copies\n");
  }
  // consume resumes after it.
  auto args = consume_args(redis, d, "c");
  args.erase(args.begin() + 5, args.begin() + 7);  // plain mode: the checkpoint set above has no group
  const auto resumed = run_cli(args);
  CHECK(handled_numbers(resumed.out) == range(11, 20));

  const auto before = run_cli({"checkpoint", "set", "--data-dir", (dir.path() / "e").string(), "--redis", redis.url(),
                               "--stream", "s", "--consumer", "c0", "--to-datetime", "2000-01-01T00:00:00Z"});
  CHECK(before.exit_code == 0);
  CHECK(before.out ==
        "--to-datetime 2000-01-01T00:00:00Z is 946684800000 ms: no entry is at or before it; setting 0-0 (before the "
        "first entry)\ncheckpoint set to 0-0 (epoch 0) in both copies\n");

  for (const std::string bad : {"2026-01-31T12:00:00", "2026-02-30T00:00:00Z", "2026-01-31 12:00:00Z",
                                "1969-12-31T23:59:59Z", "2026-01-31T24:00:00Z", "2026-01-31T12:00:00.Z", "yesterday"}) {
    CAPTURE(bad);
    const auto r = run_cli({"checkpoint", "set", "--data-dir", d, "--redis", redis.url(), "--stream", "s", "--consumer",
                            "c", "--to-datetime", bad});
    CHECK(r.exit_code == 2);
    CHECK(r.err.rfind("streamckpt: --to-datetime '" + bad +
                          "' is not an ISO 8601 date and time with a zone, from 1970 on (e.g. 2026-01-31T12:00:00Z or "
                          "2026-01-31T13:00:00.250+01:00)\n",
                      0) == 0);
  }
  const auto both = run_cli({"checkpoint", "set", "--data-dir", d, "--redis", redis.url(), "--stream", "s",
                             "--consumer", "c", "--id", ids[0], "--to-datetime", "2026-01-31T12:00:00Z"});
  CHECK(both.exit_code == 2);
  CHECK(both.err.rfind("streamckpt: give one of --id and --to-datetime\n", 0) == 0);
}

TEST_CASE("--dry-run on set and reset says what would change and changes nothing") {
  RedisServer redis;
  Client client(redis.port());
  const auto ids = client.produce("s", 1, 5);
  TempDir dir;
  const auto d = (dir.path() / "d").string();
  const auto dry = run_cli({"checkpoint", "set", "--data-dir", d, "--redis", redis.url(), "--stream", "s", "--group",
                            "g", "--consumer", "c", "--id", ids[2], "--dry-run"});
  CHECK(dry.exit_code == 0);
  CHECK(dry.out == "dry run: would set the checkpoint to " + ids[2] +
                       " (epoch 0) in both copies, delete the pending entries of consumer 'c' and set the "
                       "last-delivered-id of group 'g' to " +
                       ids[2] + " (now: local absent, redis absent); nothing was changed\n");
  CHECK_FALSE(std::filesystem::exists(d));
  CHECK(client.run({"EXISTS", "streamckpt:{s}:g:c"})->integer == 0);

  REQUIRE(run_cli({"checkpoint", "set", "--data-dir", d, "--redis", redis.url(), "--stream", "s", "--consumer", "c",
                   "--id", ids[3]})
              .exit_code == 0);
  const auto dry_reset = run_cli({"checkpoint", "reset", "--data-dir", d, "--redis", redis.url(), "--stream", "s",
                                  "--consumer", "c", "--dry-run"});
  CHECK(dry_reset.exit_code == 0);
  CHECK(dry_reset.out ==
        "dry run: would delete the checkpoint of stream 's', group '', consumer 'c' from both copies "
        "(local: " +
            ids[3] + " (valid, epoch 0), redis: " + ids[3] + " (valid, epoch 0)); nothing was changed\n");
  const auto shown = run_cli(
      {"checkpoint", "show", "--data-dir", d, "--redis", redis.url(), "--stream", "s", "--consumer", "c", "--json"});
  CHECK(contains(shown.out, R"("effective":")" + ids[3] + "\""));
  CHECK(contains(shown.out, R"("redis":{"id":")" + ids[3] + "\""));
}

TEST_CASE("checkpoint export and import move a group member to another host: every entry handled once") {
  RedisServer redis;
  Client client(redis.port());
  client.produce("s", 1, 20);
  TempDir dir;
  const auto host_a = (dir.path() / "a").string(), host_b = (dir.path() / "b").string();
  auto first = consume_args(redis, host_a, "edge");
  first.insert(first.end(), {"--max-events", "15"});
  const auto on_a = run_cli(first);
  REQUIRE(on_a.exit_code == 0);

  const auto exported =
      run_cli({"checkpoint", "export", "--data-dir", host_a, "--stream", "s", "--group", "g", "--consumer", "edge"});
  CHECK(exported.exit_code == 0);
  const std::regex line(
      R"(\{"format":"streamckpt-checkpoint-1","stream":"s","group":"g","consumer":"edge","id":"[0-9]+-[0-9]+","epoch":0,"updated_ms":[0-9]+,"entries_seen":15,"metadata":""\}
)");
  CHECK_MESSAGE(std::regex_match(exported.out, line), exported.out);
  const auto file = dir.path() / "edge.json";
  std::ofstream(file) << exported.out;

  const auto imported =
      run_cli({"checkpoint", "import", "--data-dir", host_b, "--redis", redis.url(), "--file", file.string()});
  CHECK(imported.exit_code == 0);
  CHECK(contains(imported.out, "checkpoint set to "));
  // Host B goes on where A stopped: nothing repeated, nothing missing.
  const auto on_b = run_cli(consume_args(redis, host_b, "edge"));
  CHECK(on_b.exit_code == 0);
  auto all = handled_numbers(on_a.out);
  const auto rest = handled_numbers(on_b.out);
  all.insert(all.end(), rest.begin(), rest.end());
  CHECK(all == range(1, 20));

  // Importing the older export again would move it backwards.
  const auto again =
      run_cli({"checkpoint", "import", "--data-dir", host_b, "--redis", redis.url(), "--file", file.string()});
  CHECK(again.exit_code == 1);
  CHECK(contains(again.err, "streamckpt: error: refusing to move the checkpoint backwards from "));

  const auto missing =
      run_cli({"checkpoint", "export", "--data-dir", host_a, "--stream", "s", "--group", "g", "--consumer", "x"});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err ==
        "streamckpt: error: " + host_a + " holds no checkpoint of stream 's', group 'g', consumer 'x'\n");

  std::ofstream(dir.path() / "bad.json") << R"({"format":"streamckpt-checkpoint-1","stream":"s","consumer":"edge"})";
  const auto bad = run_cli({"checkpoint", "import", "--data-dir", host_b, "--redis", redis.url(), "--file",
                            (dir.path() / "bad.json").string()});
  CHECK(bad.exit_code == 1);
  CHECK(bad.err == "streamckpt: error: " + (dir.path() / "bad.json").string() + ": \"id\" is missing\n");
}
