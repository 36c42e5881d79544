// The Redis credentials kept off the command line (--redis-password-file,
// STREAMCKPT_REDIS_PASSWORD, --redis-user, STREAMCKPT_REDIS_USER), the warning
// for a password in the URL, and the modes of what the CLI creates.
#include "cli.hpp"
#include "redis_server.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <fstream>
#include <numeric>

using namespace streamckpt::test;

namespace {

const std::string k_url_warning =
    "streamckpt: warning: the password in --redis can be read by every user of this host (ps, /proc/PID/cmdline); "
    "give it with --redis-password-file FILE or STREAMCKPT_REDIS_PASSWORD instead\n";

std::filesystem::path write_secret(const std::filesystem::path& path, const std::string& text, mode_t mode = 0600) {
  std::ofstream(path, std::ios::binary) << text;
  ::chmod(path.c_str(), mode);
  return path;
}

std::vector<int> one_to(int n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 1);
  return v;
}

std::vector<std::string> consume_args(const std::string& url, const std::filesystem::path& data_dir) {
  return {"consume",
          "--redis",
          url,
          "--stream",
          "s",
          "--consumer",
          "c",
          "--data-dir",
          data_dir.string(),
          "--idle-exit-ms",
          "300",
          "--startup-timeout-ms",
          "0"};
}

unsigned mode_of(const std::filesystem::path& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

class Umask {
 public:
  explicit Umask(mode_t mask) : old_(::umask(mask)) {}
  ~Umask() { ::umask(old_); }
  Umask(const Umask&) = delete;
  Umask& operator=(const Umask&) = delete;

 private:
  mode_t old_;
};

}  // namespace

TEST_CASE("the password from --redis-password-file authenticates, is never printed, and draws no warning") {
  RedisServer redis({"--requirepass", "file-secret-7"});
  Client(redis.port(), "file-secret-7").produce("s", 1, 20);
  TempDir dir;
  ScopedEnv no_password("STREAMCKPT_REDIS_PASSWORD", std::nullopt);
  const auto file = write_secret(dir.path() / "pw", "file-secret-7\n");
  auto args = consume_args(redis.url(), dir.path() / "d");
  args.insert(args.end(), {"--redis-password-file", file.string()});
  const auto r = run_cli(args);
  CHECK(r.exit_code == 0);
  CHECK(handled_numbers(r.out) == one_to(20));
  CHECK_FALSE(contains(r.err, "warning"));
  CHECK_FALSE(contains(r.err, "file-secret-7"));

  // checkpoint show reads the Redis copy with the same file.
  const auto shown = run_cli({"checkpoint", "show", "--data-dir", (dir.path() / "d").string(), "--stream", "s",
                              "--consumer", "c", "--redis", redis.url(), "--redis-password-file", file.string()});
  CHECK(shown.exit_code == 0);
  const auto redis_line = shown.out.substr(shown.out.find("redis:"));
  CHECK(redis_line.substr(0, redis_line.find('\n')).find("(valid, epoch 0)") != std::string::npos);
  CHECK(shown.err.empty());
  const auto without_redis = run_cli({"checkpoint", "show", "--data-dir", (dir.path() / "d").string(), "--stream", "s",
                                      "--consumer", "c", "--redis-password-file", file.string()});
  CHECK(without_redis.exit_code == 2);
  CHECK(without_redis.err.rfind("streamckpt: --redis-password-file needs --redis\n", 0) == 0);
}

TEST_CASE("STREAMCKPT_REDIS_PASSWORD and STREAMCKPT_REDIS_USER authenticate as an ACL user") {
  RedisServer redis;
  Client admin(redis.port());
  admin.produce("s", 1, 15);
  admin.run({"ACL", "SETUSER", "edge", "on", ">env-secret-9", "~*", "+@all"});
  admin.run({"ACL", "SETUSER", "default", "off"});  // admin's connection stays authenticated
  TempDir dir;
  {
    ScopedEnv user("STREAMCKPT_REDIS_USER", std::string("edge"));
    ScopedEnv password("STREAMCKPT_REDIS_PASSWORD", std::string("env-secret-9"));
    const auto r = run_cli(consume_args(redis.url(), dir.path() / "d"));
    CHECK(r.exit_code == 0);
    CHECK_FALSE(contains(r.err, "env-secret-9"));
    CHECK_FALSE(contains(r.err, "warning"));
    CHECK(handled_numbers(r.out) == one_to(15));
  }
  // Without them the default user is off: refused.
  ScopedEnv no_user("STREAMCKPT_REDIS_USER", std::nullopt);
  ScopedEnv no_password("STREAMCKPT_REDIS_PASSWORD", std::nullopt);
  const auto refused = run_cli(consume_args(redis.url(), dir.path() / "d"));
  CHECK(refused.exit_code == 1);
}

TEST_CASE("a password in the URL still works, with a warning that other users can read it") {
  RedisServer redis({"--requirepass", "url-secret-3"});
  Client(redis.port(), "url-secret-3").produce("s", 1, 5);
  TempDir dir;
  const auto url = "redis://:url-secret-3@127.0.0.1:" + std::to_string(redis.port());
  const auto r = run_cli(consume_args(url, dir.path() / "d"));
  CHECK(r.exit_code == 0);
  CHECK(handled_numbers(r.out) == one_to(5));
  CHECK(r.err.rfind(k_url_warning, 0) == 0);  // the first line
  CHECK_FALSE(contains(r.err, "url-secret-3"));
  // The variable does not replace a password the URL holds.
  ScopedEnv wrong("STREAMCKPT_REDIS_PASSWORD", std::string("wrong"));
  const auto again = run_cli(consume_args(url, dir.path() / "d"));
  CHECK(again.exit_code == 0);
}

TEST_CASE("a password file that cannot be used is an error naming the file, never its contents") {
  TempDir dir;
  ScopedEnv no_password("STREAMCKPT_REDIS_PASSWORD", std::nullopt);
  const auto run_with = [&](const std::filesystem::path& file) {
    auto args = consume_args("redis://127.0.0.1:1", dir.path() / "d");
    args.insert(args.end(), {"--redis-password-file", file.string()});
    return run_cli(args);
  };
  const auto missing = run_with(dir.path() / "absent");
  CHECK(missing.exit_code == 1);
  CHECK(missing.err == "streamckpt: error: cannot read password file " + (dir.path() / "absent").string() +
                           ": No such file or directory\n");

  const auto empty = run_with(write_secret(dir.path() / "empty", "\n"));
  CHECK(empty.exit_code == 1);
  CHECK(empty.err == "streamckpt: error: password file " + (dir.path() / "empty").string() + " is empty\n");

  const auto two = run_with(write_secret(dir.path() / "two", "line-one\nline-two\n"));
  CHECK(two.exit_code == 1);
  CHECK(two.err == "streamckpt: error: password file " + (dir.path() / "two").string() + " holds more than one line\n");
  CHECK_FALSE(contains(two.err, "line-one"));

  const auto directory = run_with(dir.path());
  CHECK(directory.exit_code == 1);
  CHECK(directory.err == "streamckpt: error: password file " + dir.path().string() + " is not a regular file\n");

  if (::geteuid() != 0) {  // root reads any file
    const auto unreadable = run_with(write_secret(dir.path() / "locked", "x\n", 0000));
    CHECK(unreadable.exit_code == 1);
    CHECK(unreadable.err ==
          "streamckpt: error: cannot read password file " + (dir.path() / "locked").string() + ": Permission denied\n");
  }

  // Nothing of the store is made before the password is known.
  CHECK_FALSE(std::filesystem::exists(dir.path() / "d"));
}

TEST_CASE("a password file others can read draws a warning naming its mode") {
  RedisServer redis({"--requirepass", "open-secret"});
  TempDir dir;
  ScopedEnv no_password("STREAMCKPT_REDIS_PASSWORD", std::nullopt);
  const auto file = write_secret(dir.path() / "pw", "open-secret", 0644);
  auto args = consume_args(redis.url(), dir.path() / "d");
  args.insert(args.end(), {"--redis-password-file", file.string()});
  const auto r = run_cli(args);
  CHECK(r.exit_code == 0);
  CHECK(r.err.rfind("streamckpt: warning: password file " + file.string() +
                        " can be read by other users (mode 0644); chmod 600 it\n",
                    0) == 0);
}

TEST_CASE("credentials given twice, an empty variable, or a unix:// URL with credentials are refused") {
  TempDir dir;
  const auto file = write_secret(dir.path() / "pw", "p\n");
  const auto d = (dir.path() / "d").string();
  ScopedEnv no_user("STREAMCKPT_REDIS_USER", std::nullopt);
  ScopedEnv no_password("STREAMCKPT_REDIS_PASSWORD", std::nullopt);

  auto twice = consume_args("redis://:p@127.0.0.1:1", d);
  twice.insert(twice.end(), {"--redis-password-file", file.string()});
  const auto r1 = run_cli(twice);
  CHECK(r1.exit_code == 2);
  CHECK(r1.err.rfind("streamckpt: --redis holds a password and --redis-password-file gives one: give it once\n", 0) ==
        0);

  auto users = consume_args("redis://alice:p@127.0.0.1:1", d);
  users.insert(users.end(), {"--redis-user", "bob"});
  const auto r2 = run_cli(users);
  CHECK(r2.exit_code == 2);
  CHECK(contains(r2.err, "streamckpt: --redis holds a user and --redis-user gives one: give it once\n"));

  auto user_alone = consume_args("redis://127.0.0.1:1", d);
  user_alone.insert(user_alone.end(), {"--redis-user", "bob"});
  const auto r3 = run_cli(user_alone);
  CHECK(r3.exit_code == 2);
  CHECK(r3.err.rfind("streamckpt: a Redis user needs a password: give it with --redis-password-file or "
                     "STREAMCKPT_REDIS_PASSWORD\n",
                     0) == 0);

  auto unix_url = consume_args("unix:///tmp/redis.sock", d);
  unix_url.insert(unix_url.end(), {"--redis-password-file", file.string()});
  const auto r4 = run_cli(unix_url);
  CHECK(r4.exit_code == 2);
  CHECK(r4.err.rfind("streamckpt: a unix:// URL carries no user or password: connect over redis:// or rediss:// to "
                     "use --redis-user, --redis-password-file, STREAMCKPT_REDIS_USER or STREAMCKPT_REDIS_PASSWORD\n",
                     0) == 0);

  ScopedEnv empty("STREAMCKPT_REDIS_PASSWORD", std::string());
  const auto r5 = run_cli(consume_args("redis://127.0.0.1:1", d));
  CHECK(r5.exit_code == 1);
  CHECK(r5.err == "streamckpt: error: STREAMCKPT_REDIS_PASSWORD is set but empty\n");
}

TEST_CASE("checkpoint set and reset take the password file too") {
  RedisServer redis({"--requirepass", "cmd-secret"});
  const auto ids = Client(redis.port(), "cmd-secret").produce("s", 1, 3);
  TempDir dir;
  ScopedEnv no_password("STREAMCKPT_REDIS_PASSWORD", std::nullopt);
  const auto file = write_secret(dir.path() / "pw", "cmd-secret\n");
  const auto d = (dir.path() / "d").string();
  const auto set = run_cli({"checkpoint", "set", "--data-dir", d, "--redis", redis.url(), "--stream", "s", "--consumer",
                            "c", "--id", ids[1], "--redis-password-file", file.string()});
  CHECK(set.exit_code == 0);
  CHECK(set.out == "checkpoint set to " + ids[1] + " (epoch 0) in both copies\n");
  const auto reset = run_cli({"checkpoint", "reset", "--data-dir", d, "--redis", redis.url(), "--stream", "s",
                              "--consumer", "c", "--redis-password-file", file.string()});
  CHECK(reset.exit_code == 0);
  CHECK(reset.out == "checkpoint of stream 's', group '', consumer 'c' deleted from both copies\n");
  // Without it: Redis refuses.
  const auto refused =
      run_cli({"checkpoint", "reset", "--data-dir", d, "--redis", redis.url(), "--stream", "s", "--consumer", "c"});
  CHECK(refused.exit_code == 1);
}

TEST_CASE("under umask 000 the data directory is 0700, nothing in it is open to others, and a sink file is 0600") {
  RedisServer redis;
  Client(redis.port()).produce("s", 1, 10);
  TempDir dir;
  const auto d = dir.path() / "nested" / "d";
  const auto sink = dir.path() / "events.jsonl";
  CliResult r;
  {
    const Umask open_umask(0);
    auto args = consume_args(redis.url(), d);
    args.insert(args.end(), {"--sink", "file:" + sink.string()});
    r = run_cli(args);
  }
  CHECK(r.exit_code == 0);
  CHECK(mode_of(d) == 0700);
  CHECK(mode_of(sink) == 0600);
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(d)) {
    CAPTURE(entry.path().string());
    CHECK((mode_of(entry.path()) & 077) == 0);
    ++files;
  }
  CHECK(files > 3);  // CURRENT, MANIFEST, the WAL, LOG, …
}

TEST_CASE("a wrong password from the file is refused by Redis, and the message names the user, never the password") {
  RedisServer redis;
  Client(redis.port()).run({"ACL", "SETUSER", "edge", "on", ">right-one", "~*", "+@all"});
  TempDir dir;
  ScopedEnv no_password("STREAMCKPT_REDIS_PASSWORD", std::nullopt);
  const auto file = write_secret(dir.path() / "pw", "wrong-one\n");
  auto args = consume_args(redis.url(), dir.path() / "d");
  args.insert(args.end(), {"--redis-user", "edge", "--redis-password-file", file.string()});
  const auto r = run_cli(args);
  CHECK(r.exit_code == 1);
  CHECK(r.err.rfind(
            "streamckpt: error: redis://edge:***@127.0.0.1:" + std::to_string(redis.port()) + " refused: WRONGPASS",
            0) == 0);
  CHECK_FALSE(contains(r.err, "wrong-one"));
}
