// systemd's notify protocol, as a service manager sees it: a real AF_UNIX
// datagram socket named by NOTIFY_SOCKET, the real CLI, the exact messages.
#include "cli.hpp"
#include "redis_server.hpp"

#include <doctest/doctest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <algorithm>
#include <csignal>
#include <cstring>

using namespace streamckpt::test;

namespace {

// The service manager's end: a bound datagram socket. `name` is a path, or an
// abstract name written "@name".
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& name) : fd_(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    REQUIRE(fd_ >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    REQUIRE(name.size() < sizeof addr.sun_path);
    std::memcpy(addr.sun_path, name.data(), name.size());
    if (name[0] == '@') addr.sun_path[0] = '\0';
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr),
                   static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size())) == 0);
  }
  ~NotifySocket() { ::close(fd_); }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  // The next datagram, or nothing within `limit`.
  std::optional<std::string> receive(std::chrono::milliseconds limit) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(limit.count())) != 1) return std::nullopt;
    char buffer[4096];
    const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
    REQUIRE(n >= 0);
    return std::string(buffer, static_cast<std::size_t>(n));
  }

  // Receives into `log` until a message equals `wanted` (true) or 20 s pass.
  bool receive_until(std::vector<std::string>& log, const std::string& wanted) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto m = receive(std::chrono::milliseconds(100))) {
        log.push_back(*m);
        if (*m == wanted) return true;
      }
    }
    return false;
  }

  // Whatever arrives until nothing has for 300 ms.
  void drain(std::vector<std::string>& log) {
    while (auto m = receive(std::chrono::milliseconds(300))) log.push_back(*m);
  }

 private:
  int fd_;
};

std::vector<std::string> without_watchdog(const std::vector<std::string>& log) {
  std::vector<std::string> out;
  std::copy_if(log.begin(), log.end(), std::back_inserter(out), [](const std::string& m) { return m != "WATCHDOG=1"; });
  return out;
}

std::vector<std::string> consume_args(const RedisServer& redis, const std::filesystem::path& data_dir) {
  return {"consume", "--redis", redis.url(), "--stream", "s", "--consumer", "c", "--data-dir", data_dir.string()};
}

}  // namespace

TEST_CASE("READY=1 once the resume is decided, STATUS= with the checkpoint, STOPPING=1 on SIGTERM, in order") {
  RedisServer redis;
  const auto ids = Client(redis.port()).produce("s", 1, 10);
  TempDir dir;
  const auto socket_path = (dir.path() / "notify").string();
  NotifySocket manager(socket_path);
  ScopedEnv notify("NOTIFY_SOCKET", socket_path);
  ScopedEnv no_watchdog("WATCHDOG_USEC", std::nullopt);
  CliProcess cli(consume_args(redis, dir.path() / "d"), dir.path());
  std::vector<std::string> log;
  const auto progress = "STATUS=checkpoint " + ids.back() + ", 10 events handled";
  REQUIRE(manager.receive_until(log, progress));
  cli.signal(SIGTERM);
  const auto r = cli.wait();
  CHECK(r.exit_code == 0);
  manager.drain(log);
  CHECK(handled_numbers(r.out).size() == 10);
  const std::vector<std::string> expected = {
      "READY=1\nSTATUS=resumed after 0-0 (source: start-policy)",
      progress,
      "STOPPING=1\nSTATUS=stopping on SIGTERM: finishing the events in flight",
      "STATUS=stopped after 10 events; checkpoint " + ids.back(),
  };
  CHECK(log == expected);

  // A restart says where it resumed from.
  CliProcess again(consume_args(redis, dir.path() / "d"), dir.path());
  std::vector<std::string> second;
  const auto ready = "READY=1\nSTATUS=resumed after " + ids.back() + " (source: local)";
  REQUIRE(manager.receive_until(second, ready));
  again.signal(SIGINT);
  CHECK(again.wait().exit_code == 0);
  manager.drain(second);
  const std::vector<std::string> expected_second = {
      ready,
      "STOPPING=1\nSTATUS=stopping on SIGINT: finishing the events in flight",
      "STATUS=stopped after 0 events; checkpoint " + ids.back(),
  };
  CHECK(second == expected_second);
}

TEST_CASE("an abstract NOTIFY_SOCKET with WATCHDOG_USEC gets WATCHDOG=1 beside the same messages") {
  RedisServer redis;
  TempDir dir;
  const auto name = "@streamckpt-notify-test-" + std::to_string(::getpid());
  NotifySocket manager(name);
  ScopedEnv notify("NOTIFY_SOCKET", name);
  ScopedEnv watchdog("WATCHDOG_USEC", std::string("200000"));
  ScopedEnv watchdog_pid("WATCHDOG_PID", std::nullopt);
  CliProcess cli(consume_args(redis, dir.path() / "d"), dir.path());
  std::vector<std::string> log;
  REQUIRE(manager.receive_until(log, "READY=1\nSTATUS=resumed after 0-0 (source: start-policy)"));
  // Three more pings: it keeps sending them while it runs.
  for (int pings = 0; pings < 3;) {
    auto m = manager.receive(std::chrono::seconds(20));
    REQUIRE(m);
    log.push_back(*m);
    if (*m == "WATCHDOG=1") ++pings;
  }
  cli.signal(SIGTERM);
  CHECK(cli.wait().exit_code == 0);
  manager.drain(log);
  CHECK(log.front() == "WATCHDOG=1");  // sent from the start, before READY
  const std::vector<std::string> expected = {
      "READY=1\nSTATUS=resumed after 0-0 (source: start-policy)",
      "STOPPING=1\nSTATUS=stopping on SIGTERM: finishing the events in flight",
      "STATUS=stopped after 0 events; checkpoint 0-0",
  };
  CHECK(without_watchdog(log) == expected);
}

TEST_CASE("a watchdog meant for another process (WATCHDOG_PID) is not fed") {
  RedisServer redis;
  TempDir dir;
  const auto socket_path = (dir.path() / "notify").string();
  NotifySocket manager(socket_path);
  ScopedEnv notify("NOTIFY_SOCKET", socket_path);
  ScopedEnv watchdog("WATCHDOG_USEC", std::string("100000"));
  ScopedEnv watchdog_pid("WATCHDOG_PID", std::to_string(::getpid()));  // the test's, not the CLI's
  CliProcess cli(consume_args(redis, dir.path() / "d"), dir.path());
  std::vector<std::string> log;
  REQUIRE(manager.receive_until(log, "READY=1\nSTATUS=resumed after 0-0 (source: start-policy)"));
  manager.drain(log);  // 300 ms: six watchdog periods
  cli.signal(SIGTERM);
  CHECK(cli.wait().exit_code == 0);
  manager.drain(log);
  CHECK(std::count(log.begin(), log.end(), "WATCHDOG=1") == 0);
  CHECK(log.size() == 3);
}

TEST_CASE("a NOTIFY_SOCKET or WATCHDOG_USEC that cannot be meant is an error") {
  TempDir dir;
  const std::vector<std::string> args = {"consume",  "--redis",    "redis://127.0.0.1:1",
                                         "--stream", "s",          "--consumer",
                                         "c",        "--data-dir", (dir.path() / "d").string()};
  {
    ScopedEnv notify("NOTIFY_SOCKET", std::string("run/notify"));
    const auto r = run_cli(args);
    CHECK(r.exit_code == 1);
    CHECK(r.err ==
          "streamckpt: error: NOTIFY_SOCKET 'run/notify' is neither an absolute path nor an abstract name ('@…')\n");
  }
  {
    ScopedEnv notify("NOTIFY_SOCKET", (dir.path() / "n").string());
    ScopedEnv watchdog("WATCHDOG_USEC", std::string("soon"));
    const auto r = run_cli(args);
    CHECK(r.exit_code == 1);
    CHECK(r.err == "streamckpt: error: WATCHDOG_USEC 'soon' is not a positive number of microseconds\n");
  }
  CHECK_FALSE(std::filesystem::exists(dir.path() / "d"));
}
