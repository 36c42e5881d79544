// The CLI's contract: exit statuses, error lines, checkpoint show.
#include "cli.hpp"
#include "redis_server.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

using namespace streamckpt::test;

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }
// Waits up to 10 s for `text` on the process's stderr.
bool err_mentions(const CliProcess& p, const std::string& text) {
  for (int i = 0; i < 1000; ++i) {
    if (p.err().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A help text's option entries: "  --name ARG, --other ARG  description",
// continued on lines indented to the description's column; the description
// joined into one line, under each name.
std::map<std::string, std::string> option_entries(const std::string& help) {
  static const std::regex entry(R"(^  ((?:--[a-z-]+(?: [A-Z]+)?)(?:, --[a-z-]+(?: [A-Z]+)?)*)  +(\S.*)$)");
  static const std::regex name("--[a-z-]+");
  std::map<std::string, std::string> entries;
  std::vector<std::string> current;
  std::istringstream lines(help);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_match(line, m, entry)) {
      current.clear();
      const std::string names = m[1];
      for (std::sregex_iterator it(names.begin(), names.end(), name), end; it != end; ++it) {
        current.push_back(it->str());
        entries[it->str()] = m[2];
      }
    } else if (!current.empty() && line.rfind(std::string(24, ' '), 0) == 0 && line.size() > 24 && line[24] != ' ') {
      for (const auto& n : current) entries[n] += " " + line.substr(24);
    } else {
      current.clear();
    }
  }
  return entries;
}

// The options named in a help text's synopsis (from "usage:" to the first
// blank line).
std::set<std::string> synopsis_options(const std::string& help) {
  static const std::regex name("--[a-z-]+");
  const auto synopsis = help.substr(0, help.find("\n\n"));
  std::set<std::string> names;
  for (std::sregex_iterator it(synopsis.begin(), synopsis.end(), name), end; it != end; ++it) names.insert(it->str());
  return names;
}

}  // namespace

TEST_CASE("usage errors exit 2 with the message and the usage on stderr") {
  const auto none = run_cli({});
  CHECK(none.exit_code == 2);
  CHECK(none.err.find("usage:") != std::string::npos);

  const auto missing = run_cli({"consume", "--stream", "s", "--consumer", "c", "--data-dir", "/nonexistent"});
  CHECK(missing.exit_code == 2);
  CHECK(starts_with(missing.err, "streamckpt: --redis is required\n"));

  const auto bad_number = run_cli(
      {"consume", "--redis", "redis://h", "--stream", "s", "--consumer", "c", "--data-dir", "/x", "--batch", "ten"});
  CHECK(bad_number.exit_code == 2);
  CHECK(bad_number.err.find("--batch must be a whole number") != std::string::npos);

  const auto bad_start = run_cli(
      {"consume", "--redis", "redis://h", "--stream", "s", "--consumer", "c", "--data-dir", "/x", "--start", "middle"});
  CHECK(bad_start.exit_code == 2);
  CHECK(bad_start.err.find("--start must be one of earliest|latest|fail, not 'middle'") != std::string::npos);

  const auto cert_alone = run_cli({"consume", "--redis", "rediss://h", "--stream", "s", "--consumer", "c", "--data-dir",
                                   "/x", "--tls-cert", "c.pem"});
  CHECK(cert_alone.exit_code == 2);
  CHECK(starts_with(cert_alone.err, "streamckpt: --tls-cert and --tls-key go together\n"));

  const auto tls_on_plain = run_cli({"consume", "--redis", "redis://h", "--stream", "s", "--consumer", "c",
                                     "--data-dir", "/x", "--tls-ca", "ca.pem"});
  CHECK(tls_on_plain.exit_code == 2);
  CHECK(starts_with(tls_on_plain.err,
                    "streamckpt: --tls-ca, --tls-cert, --tls-key and --tls-insecure need a rediss:// URL\n"));

  const auto unknown = run_cli({"consume", "--frobnicate"});
  CHECK(unknown.exit_code == 2);
  CHECK(starts_with(unknown.err, "streamckpt: unknown option --frobnicate\n"));
}

TEST_CASE("every millisecond option refuses a value over its bound with a usage error naming the range") {
  struct Bound {
    std::string option;
    std::string min, max, over;
  };
  const Bound bounds[] = {
      {"--flush-ms", "0", "3600000", "3600001"},
      {"--lease-ttl-ms", "300", "3600000", "3600001"},
      {"--idle-exit-ms", "1", "31536000000", "31536000001"},
      {"--block-ms", "1", "3600000", "3600001"},
      {"--startup-timeout-ms", "0", "31536000000", "31536000001"},
      {"--metrics-interval-ms", "0", "3600000", "3600001"},
      {"--command-timeout-ms", "1", "3600000", "3600001"},
      {"--connect-timeout-ms", "1", "3600000", "3600001"},
  };
  TempDir dir;
  const std::vector<std::string> base = {"consume",  "--redis",    "unix:///nonexistent/redis.sock",
                                         "--stream", "s",          "--consumer",
                                         "c",        "--data-dir", (dir.path() / "d").string()};
  for (const auto& b : bounds) {
    for (const auto& value : {b.over, std::string("10000000000000"), std::string("18446744073709551615")}) {
      CAPTURE(b.option);
      CAPTURE(value);
      auto args = base;
      args.insert(args.end(), {b.option, value});
      // Were the value taken, the run would fail at once instead of retrying.
      if (b.option != "--startup-timeout-ms") args.insert(args.end(), {"--startup-timeout-ms", "0"});
      const auto r = run_cli(args);
      CHECK(r.exit_code == 2);
      CHECK(starts_with(r.err, "streamckpt: " + b.option + " must be a whole number from " + b.min + " to " + b.max +
                                   ", not '" + value + "'\nusage:\n"));
    }
    if (b.option == "--startup-timeout-ms") continue;  // below, it makes the run fail at once
    // The bound itself is taken: the run goes on to fail on the missing socket.
    auto args = base;
    args.insert(args.end(), {b.option, b.max, "--startup-timeout-ms", "0"});
    const auto r = run_cli(args);
    CAPTURE(b.option);
    CHECK(r.exit_code == 1);
    CHECK(starts_with(r.err, "streamckpt: error: cannot connect to "));
  }
}

TEST_CASE("a stream, group or consumer name over 1024 bytes is a usage error naming the option") {
  TempDir dir;
  const std::string url = "unix:///nonexistent/redis.sock";
  const std::vector<std::vector<std::string>> commands = {
      {"consume", "--redis", url, "--startup-timeout-ms", "0"},
      {"checkpoint", "show"},
      {"checkpoint", "set", "--redis", url, "--id", "1-0"},
      {"checkpoint", "reset", "--redis", url},
  };
  for (const auto& command : commands) {
    for (const std::string option : {"stream", "group", "consumer"}) {
      CAPTURE(command[1]);
      CAPTURE(option);
      const auto with_name = [&](std::size_t length) {
        std::map<std::string, std::string> names = {{"stream", "s"}, {"group", "g"}, {"consumer", "c"}};
        names[option] = std::string(length, 'n');
        auto args = command;
        for (const auto& [name, value] : names) args.insert(args.end(), {"--" + name, value});
        args.insert(args.end(), {"--data-dir", (dir.path() / command[1]).string()});
        return run_cli(args);
      };
      const auto too_long = with_name(1025);
      CHECK(too_long.exit_code == 2);
      CHECK(starts_with(too_long.err, "streamckpt: --" + option + " must be at most 1024 bytes, not 1025\nusage:\n"));
      // 1024 bytes are taken: the command goes on to fail on the missing
      // socket (show and reset: on the missing store).
      const auto longest = with_name(1024);
      CHECK(longest.exit_code == 1);
      const bool needs_store = command[1] == "show" || command[1] == "reset";
      CHECK(starts_with(longest.err, needs_store ? "streamckpt: error: no checkpoint store in "
                                                 : "streamckpt: error: cannot connect to "));
    }
  }
}

TEST_CASE("--help prints the usage and exits 0") {
  const auto help = run_cli({"--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.out.find("streamckpt consume --redis URL") != std::string::npos);
}

TEST_CASE("-h or --help anywhere in a subcommand's arguments prints its help on stdout and exits 0") {
  const std::string exit_status =
      "exit status: 0 success, 1 failure (one line on stderr: \"streamckpt: error: ...\"),\n2 usage error.\n";
  const std::vector<std::string> subcommands = {"show", "list", "set", "reset"};

  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"consume", "--help"}, {"consume", "-h"}, {"consume", "--redis", "redis://h", "--stream", "s", "--help"}}) {
    CAPTURE(args.back());
    const auto r = run_cli(args);
    CHECK(r.exit_code == 0);
    CHECK(r.err == "");
    CHECK(starts_with(r.out,
                      "usage:\n  streamckpt consume --redis URL --stream NAME [--group NAME] --consumer NAME "
                      "--data-dir DIR\n"));
    CHECK(r.out.find("\n  --batch N ") != std::string::npos);
    CHECK(r.out.find("streamckpt checkpoint") == std::string::npos);
    CHECK(ends_with(r.out, exit_status));
  }

  const auto all = run_cli({"checkpoint", "--help"});
  CHECK(all.exit_code == 0);
  CHECK(all.err == "");
  CHECK(starts_with(all.out, "usage:\n  streamckpt checkpoint show --data-dir DIR"));
  for (const auto& sub : subcommands) CHECK(all.out.find("  streamckpt checkpoint " + sub + " ") != std::string::npos);
  CHECK(all.out.find("streamckpt consume") == std::string::npos);
  CHECK(ends_with(all.out, exit_status));

  for (const auto& sub : subcommands) {
    for (const std::string help : {"--help", "-h"}) {
      CAPTURE(sub);
      CAPTURE(help);
      const auto r = run_cli({"checkpoint", sub, "--data-dir", "/nonexistent", help});
      CHECK(r.exit_code == 0);
      CHECK(r.err == "");
      CHECK(starts_with(r.out, "usage:\n  streamckpt checkpoint " + sub + " --data-dir DIR"));
      for (const auto& other : subcommands)
        if (other != sub) CHECK(r.out.find("streamckpt checkpoint " + other) == std::string::npos);
      CHECK(ends_with(r.out, exit_status));
    }
  }
}

TEST_CASE("-h or --help as an option's value is that value, not a request for help") {
  TempDir dir;
  const auto r = run_cli({"consume", "--redis", "unix:///nonexistent/redis.sock", "--stream", "s", "--consumer", "-h",
                          "--data-dir", (dir.path() / "d").string(), "--startup-timeout-ms", "0"});
  CHECK(r.exit_code == 1);
  CHECK(r.out == "");
  CHECK(starts_with(r.err, "streamckpt: error: cannot connect to "));
  const auto shown = run_cli({"checkpoint", "list", "--json", "--data-dir", "--help"});  // a directory named --help
  CHECK(shown.exit_code == 1);
  CHECK(starts_with(shown.err, "streamckpt: error: no checkpoint store in --help"));
}

TEST_CASE("each command's help describes every option of its synopsis, with the bounds the parser applies") {
  const std::vector<std::vector<std::string>> commands = {
      {"consume"},           {"checkpoint", "show"},  {"checkpoint", "list"},
      {"checkpoint", "set"}, {"checkpoint", "reset"}, {"checkpoint", "export"},
      {"group", "describe"}};
  for (auto command : commands) {
    CAPTURE(command.back());
    command.push_back("--help");
    const auto help = run_cli(command).out;
    const auto entries = option_entries(help);
    const auto listed = synopsis_options(help);
    REQUIRE_FALSE(listed.empty());
    for (const auto& option : listed) {
      CAPTURE(option);
      CHECK(entries.count(option) == 1);
    }
    for (const auto& entry : entries) {
      const auto& option = entry.first;  // not a structured binding: clang 14 cannot capture one
      const auto& text = entry.second;
      CAPTURE(option);
      CHECK(listed.count(option) == 1);
      if (option == "--stream" || option == "--consumer") CHECK(text.find("1 to 1024 bytes") != std::string::npos);
    }
  }

  const auto consume = option_entries(run_cli({"consume", "--help"}).out);
  CHECK(consume.at("--block-ms") ==
        "BLOCK time of each read, 1 to 3600000 (default 1000, or --idle-exit-ms when that is less and --block-ms is "
        "not given)");
  CHECK(consume.at("--lease-ttl-ms") ==
        "group mode: the lease's lifetime, renewed every third of it; 300 to 3600000 (default 10000)");
  CHECK(consume.at("--group").find("(1 to 1024 bytes)") != std::string::npos);
  CHECK(consume.at("--group").find("The group is created when missing, at the position consume resumes from, with "
                                   "MKSTREAM: a missing stream is created empty.") != std::string::npos);

  // Every "N" option's stated range is the parser's: one past its end is
  // refused with the same range.
  static const std::regex range(R"((\d+) to (\d+))");
  const std::set<std::string> numeric = {"--batch",
                                         "--idle-exit-ms",
                                         "--block-ms",
                                         "--max-in-flight",
                                         "--flush-ms",
                                         "--lease-ttl-ms",
                                         "--startup-timeout-ms",
                                         "--command-timeout-ms",
                                         "--connect-timeout-ms",
                                         "--metrics-interval-ms"};
  for (const auto& option : numeric) {
    CAPTURE(option);
    std::smatch m;
    const auto& text = consume.at(option);
    REQUIRE(std::regex_search(text, m, range));
    const auto over = std::to_string(std::stoull(m[2]) + 1);
    const auto r = run_cli(
        {"consume", "--redis", "redis://h", "--stream", "s", "--consumer", "c", "--data-dir", "/x", option, over});
    CHECK(r.exit_code == 2);
    CHECK(starts_with(r.err, "streamckpt: " + option + " must be a whole number from " + m[1].str() + " to " +
                                 m[2].str() + ", not '" + over + "'\n"));
  }
}

TEST_CASE("a malformed URL exits 1 with one error line naming the URL") {
  TempDir dir;
  const auto r = run_cli({"consume", "--redis", "redis://host:99999", "--stream", "s", "--consumer", "c", "--data-dir",
                          (dir.path() / "d").string()});
  CHECK(r.exit_code == 1);
  CHECK(r.err ==
        "streamckpt: error: invalid Redis URL 'redis://host:99999': port '99999' is not a number from 1 to 65535\n");
}

TEST_CASE("a malformed URL's password is never printed, whichever command reads it") {
  TempDir dir;
  const std::string url = "redis://:s3cr:t@/x@127.0.0.1:6379";
  const std::string expected =
      "streamckpt: error: invalid Redis URL 'redis://***@127.0.0.1:6379': '@' after the first '/' (write a '/' in the "
      "user or password as %2F)\n";
  const auto data_dir = (dir.path() / "d").string();
  const std::vector<std::string> identity = {"--stream", "s", "--consumer", "c", "--data-dir", data_dir};
  const auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), identity.begin(), identity.end());
    return args;
  };
  const auto consumed = run_cli(with({"consume", "--redis", url}));
  CHECK(consumed.exit_code == 1);
  CHECK(consumed.err == expected);
  // show reads Redis only once the store exists: a short run creates it (a
  // run that cannot reach Redis does not).
  {
    RedisServer redis;
    REQUIRE(run_cli(with({"consume", "--redis", redis.url(), "--idle-exit-ms", "100"})).exit_code == 0);
  }
  const auto shown = run_cli(with({"checkpoint", "show", "--redis", url}));
  CHECK(shown.exit_code == 1);
  CHECK(shown.err == expected);
  const auto set = run_cli(with({"checkpoint", "set", "--redis", url, "--id", "1-0"}));
  CHECK(set.exit_code == 1);
  CHECK(set.err == expected);
  const auto reset = run_cli(with({"checkpoint", "reset", "--redis", url}));
  CHECK(reset.exit_code == 1);
  CHECK(reset.err == expected);
}

TEST_CASE("an unreachable server exits 1 with an error line saying so when --startup-timeout-ms is 0") {
  TempDir dir;
  int port = 0;
  {
    RedisServer gone;  // a port that was free a moment ago, now closed
    port = gone.port();
  }
  const auto r = run_cli({"consume", "--redis", "redis://127.0.0.1:" + std::to_string(port), "--stream", "s",
                          "--consumer", "c", "--data-dir", (dir.path() / "d").string(), "--startup-timeout-ms", "0"});
  CHECK(r.exit_code == 1);
  CHECK(starts_with(r.err, "streamckpt: error: cannot connect to 127.0.0.1:" + std::to_string(port)));
}

TEST_CASE("a wrong password exits 1 with Redis's refusal") {
  RedisServer redis({"--requirepass", "right"});
  TempDir dir;
  const auto r = run_cli({"consume", "--redis", "redis://:wrong@127.0.0.1:" + std::to_string(redis.port()), "--stream",
                          "s", "--consumer", "c", "--data-dir", (dir.path() / "d").string()});
  CHECK(r.exit_code == 1);
  // A password in the URL is warned about first.
  CHECK(starts_with(r.err, "streamckpt: warning: the password in --redis can be read by every user of this host"));
  CHECK(starts_with(r.err.substr(r.err.find('\n') + 1), "streamckpt: error: redis://:***@127.0.0.1:"));
  CHECK(r.err.find("refused: WRONGPASS") != std::string::npos);
  CHECK(r.err.find("wrong") == std::string::npos);  // the password is never printed
}

TEST_CASE("a key that is not a stream exits 1 with WRONGTYPE explained") {
  RedisServer redis;
  Client client(redis.port());
  client.run({"SET", "s", "x"});
  TempDir dir;
  for (const bool group : {false, true}) {
    std::vector<std::string> args = {"consume",  "--redis",    redis.url(),
                                     "--stream", "s",          "--consumer",
                                     "c",        "--data-dir", (dir.path() / (group ? "g" : "p")).string()};
    if (group) args.insert(args.end(), {"--group", "g"});
    const auto r = run_cli(args);
    CHECK(r.exit_code == 1);
    CHECK(
        r.err.find("streamckpt: error: key 's' holds a string, not a stream (WRONGTYPE); choose another --stream\n") !=
        std::string::npos);
  }
}

TEST_CASE("a second consumer on the same data directory fails with an error naming the directory") {
  RedisServer redis;
  TempDir dir;
  const auto data_dir = (dir.path() / "ckpt").string();
  CliProcess first({"consume", "--redis", redis.url(), "--stream", "s", "--consumer", "c", "--data-dir", data_dir},
                   dir.path());
  // Wait until the first one holds the directory.
  for (int i = 0; i < 200 && !std::filesystem::exists(dir.path() / "ckpt" / "LOCK"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto second =
      run_cli({"consume", "--redis", redis.url(), "--stream", "s", "--consumer", "c2", "--data-dir", data_dir});
  CHECK(second.exit_code == 1);
  CHECK(second.err == "streamckpt: error: data directory " + data_dir +
                          " is held by another process; stop it or use another data directory\n");
  first.signal(SIGTERM);
  CHECK(first.wait().exit_code == 0);
}

TEST_CASE("SIGTERM during start-up exits 0 naming the checkpoint the local store holds") {
  RedisServer redis;
  Client client(redis.port());
  TempDir dir;
  const auto ids = client.produce("s", 1, 5);
  const auto consume = [&](const std::string& data_dir, std::vector<std::string> extra) {
    std::vector<std::string> args = {"consume", "--redis", redis.url(), "--stream", "s", "--group", "g"};
    args.insert(args.end(), {"--consumer", "c", "--data-dir", data_dir});
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  const auto data_dir = (dir.path() / "ckpt").string();
  REQUIRE(run_cli(consume(data_dir, {"--max-events", "3"})).exit_code == 0);
  const std::string stopped =
      "streamckpt: stopped after 0 events, before start-up completed; local checkpoint " + ids[2] + "\n";

  // Another instance holds the lease, and --wait-lease waits for it. It looks
  // again every quarter of --lease-ttl-ms, here 15 minutes: the stop does not
  // sit that out.
  client.run({"SET", "streamckpt:{s}:g:c:lease", "elsewhere:1", "PX", "60000"});
  {
    CliProcess waiting(consume(data_dir, {"--wait-lease", "--lease-ttl-ms", "3600000"}), dir.path());
    REQUIRE(err_mentions(waiting, "waiting for the lease held by elsewhere:1"));
    waiting.signal(SIGTERM);
    const auto r = waiting.wait_for(std::chrono::seconds(60));
    REQUIRE_MESSAGE(r, "still running a minute after SIGTERM");
    CHECK(r->exit_code == 0);
    CHECK(ends_with(r->err, stopped));
  }

  // Redis is down, and start-up keeps retrying.
  redis.kill();
  {
    CliProcess retrying(consume(data_dir, {}), dir.path());
    REQUIRE(err_mentions(retrying, "; retrying in "));
    retrying.signal(SIGTERM);
    const auto r = retrying.wait();
    CHECK(r.exit_code == 0);
    CHECK(ends_with(r.err, stopped));
  }

  // A data directory that holds no checkpoint for this consumer says so.
  {
    CliProcess fresh(consume((dir.path() / "fresh").string(), {}), dir.path());
    REQUIRE(err_mentions(fresh, "; retrying in "));
    fresh.signal(SIGTERM);
    const auto r = fresh.wait();
    CHECK(r.exit_code == 0);
    CHECK(ends_with(r.err, "streamckpt: stopped after 0 events, before start-up completed; no local checkpoint\n"));
  }
}

TEST_CASE("checkpoint show --json reports the local copy and the effective position") {
  RedisServer redis;
  Client client(redis.port());
  TempDir dir;
  const auto ids = client.produce("s", 1, 5);
  const auto data_dir = (dir.path() / "ckpt").string();
  const auto consumed = run_cli({"consume", "--redis", redis.url(), "--stream", "s", "--group", "g", "--consumer", "c",
                                 "--data-dir", data_dir, "--max-events", "3"});
  REQUIRE(consumed.exit_code == 0);
  const auto shown = run_cli(
      {"checkpoint", "show", "--data-dir", data_dir, "--stream", "s", "--group", "g", "--consumer", "c", "--json"});
  CHECK(shown.exit_code == 0);
  CHECK(starts_with(shown.out, R"({"local":{"id":")" + ids[2] + R"(","valid":true,"reason":null,)"));
  CHECK(shown.out.find(R"("redis":null,"effective":")" + ids[2] + "\"}") != std::string::npos);

  const auto other = run_cli({"checkpoint", "show", "--data-dir", data_dir, "--stream", "s", "--group", "g",
                              "--consumer", "nobody", "--json"});
  CHECK(other.out == "{\"local\":null,\"redis\":null,\"effective\":null}\n");

  const auto missing =
      run_cli({"checkpoint", "show", "--data-dir", (dir.path() / "none").string(), "--stream", "s", "--consumer", "c"});
  CHECK(missing.exit_code == 1);
  CHECK(starts_with(missing.err, "streamckpt: error: no checkpoint store in "));
}
