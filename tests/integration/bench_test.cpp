// streamckpt-bench run as users run it: its command line, and a small run
// against a server of the user's that must be correct in every scenario and
// leave that server's own keys alone. Nothing here looks at a timing: the
// machine is shared and noisy.
#include "cli.hpp"
#include "redis_server.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace streamckpt::test;

namespace {

CliResult run_bench(const std::vector<std::string>& args) {
  return run_program(program_path("STREAMCKPT_BENCH"), args);
}

// What the tool prints for a bad command line.
std::string usage_error(const std::string& message) {
  return "streamckpt-bench: " + message + "\nTry 'streamckpt-bench --help'.\n";
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The --json file holds each scenario on a line of its own, in run order.
constexpr std::string_view k_scenario_prefix = "    {\"name\": \"";

// The scenarios' names, in order, joined by spaces.
std::string scenario_names(const std::string& json) {
  std::string names;
  for (const auto& line : lines_of(json))
    if (line.rfind(k_scenario_prefix, 0) == 0) {
      const auto start = k_scenario_prefix.size();
      names += (names.empty() ? "" : " ") + line.substr(start, line.find('"', start) - start);
    }
  return names;
}

// The line of scenario `name`, or "" when there is none.
std::string scenario_line(const std::string& json, const std::string& name) {
  for (const auto& line : lines_of(json))
    if (line.rfind(std::string(k_scenario_prefix) + name + "\"", 0) == 0) return line;
  return {};
}

// The line of a top-level field: `  "name": …`, or "".
std::string field_line(const std::string& json, const std::string& name) {
  for (const auto& line : lines_of(json))
    if (line.rfind("  \"" + name + "\": ", 0) == 0) return line;
  return {};
}

// The number after the first `"key": ` in `line`; nothing when the key is
// absent or its value is not a number (null).
std::optional<double> number_after(const std::string& line, const std::string& key) {
  const auto at = line.find("\"" + key + "\": ");
  if (at == std::string::npos) return std::nullopt;
  const char* start = line.c_str() + at + key.size() + 4;
  char* end = nullptr;
  const double value = std::strtod(start, &end);
  if (end == start) return std::nullopt;
  return value;
}

}  // namespace

TEST_CASE("--help exits 0 and describes every option") {
  const auto help = run_bench({"--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.err.empty());
  CHECK(help.out.rfind("usage: streamckpt-bench [options]\n", 0) == 0);
  for (const char* option : {"--redis URL", "--events N", "--quick", "--payload-bytes B", "--batch N", "--rounds N",
                             "--restarts N", "--json FILE", "--verbose", "-h, --help"}) {
    CAPTURE(option);
    CHECK(contains(help.out, std::string("\n  ") + option + " "));
  }
}

TEST_CASE("a bad command line exits 2 with the reason and a hint to --help on stderr, and nothing on stdout") {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const Case cases[] = {
      {{"--events", "0"}, "--events expects a whole number from 1 to 100000000, not '0'"},
      {{"--batch", "x"}, "--batch expects a whole number from 1 to 100000, not 'x'"},
      {{"--rounds", "100"}, "--rounds expects a whole number from 1 to 99, not '100'"},
      {{"--frobnicate"}, "unknown argument '--frobnicate'"},
      {{"--redis", "notaurl"},
       "--redis: invalid URL 'notaurl': expected redis://, rediss://, unix://, redis+sentinel:// or redis+cluster://"},
      // 20 restarts (the default) of 100 entries per batch need more entries.
      {{"--events", "100"},
       "--events 100 is too few for --restarts 20 with --batch 100: each restart needs entries left to consume; "
       "use --events 11194 or more, or fewer --restarts"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.message);
    const auto r = run_bench(c.args);
    CHECK(r.exit_code == 2);
    CHECK(r.err == usage_error(c.message));
    CHECK(r.out.empty());
  }
}

TEST_CASE("a small run on an existing server is correct in every scenario and deletes exactly the keys it made") {
  RedisServer redis;
  Client client(redis.port());
  // A key of the user's, which the run must leave alone.
  REQUIRE(client.run({"SET", "users-own-key", "kept"})->type == REDIS_REPLY_STATUS);
  TempDir dir;
  const auto json_path = (dir.path() / "bench.json").string();

  // 4000 events pass the check for 2 restarts of 100-entry batches (3 lives of
  // 333 + 400 entries), and keep file-fsync-per-event to a few seconds.
  const auto r =
      run_bench({"--redis", redis.url(), "--events", "4000", "--restarts", "2", "--rounds", "1", "--json", json_path});
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "correctness: every entry handled exactly once and in order in every scenario"));

  const auto json = read_file(json_path);
  INFO("json:\n" << json);
  CHECK(scenario_names(json) == "raw-xreadgroup redis-set-per-event file-fsync-per-event streamckpt streamckpt-plain");
  for (const char* name :
       {"raw-xreadgroup", "redis-set-per-event", "file-fsync-per-event", "streamckpt", "streamckpt-plain"}) {
    CAPTURE(name);
    const auto line = scenario_line(json, name);
    CHECK(contains(line, "\"lost\": 0, \"duplicates\": 0, \"out_of_order\": 0,"));
    CHECK(contains(line, "\"ok\": true, \"error\": null}"));
  }
  // The engine syncs a group of acks at once: fewer syncs than events, but some.
  for (const char* name : {"streamckpt", "streamckpt-plain"}) {
    CAPTURE(name);
    const auto fsyncs = number_after(scenario_line(json, name), "fsyncs_per_event");
    REQUIRE(fsyncs);
    CHECK(*fsyncs > 0);
    CHECK(*fsyncs < 1);
  }
  CHECK(number_after(scenario_line(json, "file-fsync-per-event"), "fsyncs_per_event") == 1.0);
  CHECK(number_after(scenario_line(json, "raw-xreadgroup"), "ratio_to_raw") == 1.0);
  CHECK(number_after(field_line(json, "resume_ms"), "p50").has_value());
  // Both probes ran, the second with one spinning thread per CPU.
  CHECK(number_after(field_line(json, "fsync"), "p99_us") > 0.0);
  CHECK(number_after(field_line(json, "fsync_cpus_busy"), "p99_us") > 0.0);
  CHECK(number_after(field_line(json, "fsync_cpus_busy"), "cpus") >= 1.0);
  CHECK(field_line(json, "resume_error") == "  \"resume_error\": null,");
  CHECK(field_line(json, "ok") == "  \"ok\": true");

  // The stream, its groups, the baseline's checkpoint key, the consumers'
  // checkpoints and leases: all gone; the user's key is still there.
  std::string keys;
  const auto all = client.run({"KEYS", "*"});
  for (std::size_t i = 0; i < all->elements; ++i) keys += (keys.empty() ? "" : " ") + std::string(all->element[i]->str);
  CHECK(keys == "users-own-key");
  CHECK(client.run({"DBSIZE"})->integer == 1);
  const auto kept = client.run({"GET", "users-own-key"});
  REQUIRE(kept->type == REDIS_REPLY_STRING);
  CHECK(std::string(kept->str, kept->len) == "kept");
}

TEST_CASE("streamckpt-many: the consumers of one shared store and of a store each handle every entry once") {
  const auto help = run_bench({"--help"});
  CHECK(contains(help.out, "\n  --consumers N "));
  CHECK(contains(help.out, "\n  streamckpt-many "));
  CHECK(contains(help.out, "\n  streamckpt-many-own "));
  const auto too_many = run_bench({"--consumers", "5", "--events", "4", "--restarts", "0"});
  CHECK(too_many.exit_code == 2);
  CHECK(too_many.err == usage_error("--consumers 5 needs --events 5 or more: one entry per consumer at least"));
  CHECK(run_bench({"--consumers", "1001"}).err ==
        usage_error("--consumers expects a whole number from 0 to 1000, not '1001'"));

  RedisServer redis;
  Client client(redis.port());
  REQUIRE(client.run({"SET", "users-own-key", "kept"})->type == REDIS_REPLY_STATUS);
  TempDir dir;
  const auto json_path = (dir.path() / "bench.json").string();
  // 3 consumers of 100 entries each (301 / 3, rounded down).
  const auto r = run_bench({"--redis", redis.url(), "--events", "301", "--restarts", "0", "--rounds", "1",
                            "--consumers", "3", "--json", json_path});
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "correctness: every entry handled exactly once and in order in every scenario"));

  // The table: a header, a row per many-consumer scenario, the single
  // consumer's beside them, and the targets.
  const auto out = lines_of(r.out);
  const auto at =
      std::find(out.begin(), out.end(),
                "many consumers: 3 in one process, one stream each, 100 events each (group mode, defaults)");
  REQUIRE(at != out.end());
  REQUIRE(out.end() - at >= 8);
  CHECK(at[1].rfind("scenario ", 0) == 0);
  CHECK(contains(at[1], " events/s "));
  CHECK(contains(at[1], " fsyncs/s "));
  CHECK(contains(at[1], " fsync/event "));
  CHECK(contains(at[1], " RSS MB "));
  CHECK(contains(at[1], " CPU s "));
  CHECK(at[2].rfind("streamckpt-many ", 0) == 0);
  CHECK(at[3].rfind("streamckpt-many-own ", 0) == 0);
  CHECK(at[4].rfind("streamckpt (one consumer) ", 0) == 0);
  for (int i = 2; i <= 4; ++i) {
    CAPTURE(at[i]);
    CHECK(contains(at[i], "        0     0"));  // lost, dup
    CHECK(!contains(at[i], "FAILED"));
  }
  CHECK(at[5].rfind("  streamckpt-many: ", 0) == 0);
  CHECK(contains(at[5], " synced writes carried the acks of 3 consumers "));
  CHECK(at[6].rfind("  targets of streamckpt-many: fsyncs/s ", 0) == 0);
  CHECK(at[7].rfind("    peak RSS ", 0) == 0);
  CHECK(contains(at[7], " MB (<= 32.2 MB: 32 MB + 100 KB per consumer after the first): "));
  CHECK(at[8].rfind("    events/s ", 0) == 0);

  // The JSON: every entry of the 300 handled exactly once, by both.
  const auto json = read_file(json_path);
  INFO("json:\n" << json);
  CHECK(field_line(json, "many") == "  \"many\": {\"consumers\": 3, \"events_each\": 100,");
  const auto lines = lines_of(json);
  const auto row = [&](const std::string& label) {
    for (const auto& line : lines)
      if (line.rfind("    \"" + label + "\": {", 0) == 0) return line;
    return std::string();
  };
  // Not a structured binding: CAPTURE's lambda cannot capture one in clang 14.
  for (const auto& scenario :
       {std::pair<std::string, std::string>{"shared", "streamckpt-many"}, {"own", "streamckpt-many-own"}}) {
    const auto& label = scenario.first;
    const auto& name = scenario.second;
    CAPTURE(name);
    const auto line = row(label);
    CHECK(line.rfind("    \"" + label + "\": {\"name\": \"" + name + "\", ", 0) == 0);
    CHECK(contains(line,
                   "\"handled\": 300, \"lost\": 0, \"duplicates\": 0, \"out_of_order\": 0, \"ok\": true, "
                   "\"error\": null}"));
    const auto fsyncs = number_after(line, "fsyncs");
    const auto carried = number_after(line, "consumer_fsyncs");
    REQUIRE(fsyncs);
    REQUIRE(carried);
    CHECK(*fsyncs > 0);
    CHECK(*fsyncs <= 300);
    // Each consumer's acks went into at least one write of the store's.
    CHECK(*carried >= *fsyncs);
    CHECK(*carried >= 3);
    if (label == "own") CHECK(*carried == *fsyncs);  // a store each: no write is shared
    CHECK(number_after(line, "peak_rss_mb") > 0.0);
  }
  // The single consumer's rows are those of every run.
  CHECK(scenario_names(json) == "raw-xreadgroup redis-set-per-event file-fsync-per-event streamckpt streamckpt-plain");
  CHECK(field_line(json, "ok") == "  \"ok\": true");

  // The many streams, their groups, checkpoints and leases: all gone.
  const auto all = client.run({"KEYS", "*"});
  std::string keys;
  for (std::size_t i = 0; i < all->elements; ++i) keys += (keys.empty() ? "" : " ") + std::string(all->element[i]->str);
  CHECK(keys == "users-own-key");
}
