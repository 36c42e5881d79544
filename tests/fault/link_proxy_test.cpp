// The link-fault proxy itself, against a real redis-server with a plain
// socket as the client: each fault does what the fault tests rely on. Times
// are only checked from below (a delay is at least its base minus jitter).
#include "link_proxy.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>

#include "redis_server.hpp"

using namespace streamckpt::test;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// A blocking client socket; errno_ is set when connect failed.
class Socket {
 public:
  explicit Socket(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) errno_ = errno;
  }
  ~Socket() { ::close(fd_); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  int connect_error() const { return errno_; }

  // 0, or the errno of a failed send.
  int try_send(const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
      const auto n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return errno;
      done += static_cast<std::size_t>(n);
    }
    return 0;
  }
  void send(const std::string& data) { REQUIRE(try_send(data) == 0); }

  // Reads until `count` bytes arrived, the peer closed (EOF or reset), or
  // nothing came for `quiet`. last_error() says how it ended: 0 (got them,
  // or quiet), -1 (EOF), or the errno.
  std::string receive(std::size_t count, milliseconds quiet = milliseconds(10000)) {
    std::string got;
    last_error_ = 0;
    char buffer[4096];
    while (got.size() < count) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(quiet.count())) == 0) break;
      const auto n = ::recv(fd_, buffer, std::min(sizeof buffer, count - got.size()), 0);
      if (n == 0) {
        last_error_ = -1;
        break;
      }
      if (n < 0) {
        last_error_ = errno;
        break;
      }
      got.append(buffer, static_cast<std::size_t>(n));
    }
    return got;
  }
  int last_error() const { return last_error_; }

 private:
  int fd_ = -1;
  int errno_ = 0;
  int last_error_ = 0;
};

// An inline command and its reply.
const std::string k_ping = "PING\r\n";
const std::string k_pong = "+PONG\r\n";

std::string echo_command(const std::string& payload) {
  return "*2\r\n$4\r\nECHO\r\n$" + std::to_string(payload.size()) + "\r\n" + payload + "\r\n";
}
std::string echo_reply(const std::string& payload) {
  return "$" + std::to_string(payload.size()) + "\r\n" + payload + "\r\n";
}

std::string pattern(std::size_t size) {
  std::string s(size, ' ');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 26) % 26);
  return s;
}

// Waits (bounded) until the proxy swallowed `bytes` replies' bytes.
bool swallowed_at_least(LinkProxy& proxy, std::size_t bytes) {
  const auto until = Clock::now() + milliseconds(10000);
  while (proxy.swallowed(Direction::server_to_client) < bytes) {
    if (Clock::now() >= until) return false;
    ::usleep(10000);
  }
  return true;
}

}  // namespace

TEST_CASE("a clean link forwards everything, in order, byte for byte") {
  RedisServer redis;
  LinkProxy proxy(redis.port());
  Socket s(proxy.port());
  REQUIRE(s.connect_error() == 0);
  const auto payload = pattern(200000);
  s.send(echo_command(payload) + k_ping);
  CHECK(s.receive(echo_reply(payload).size() + k_pong.size()) == echo_reply(payload) + k_pong);
  CHECK(proxy.accepted() == 1);
  CHECK(proxy.forwarded(Direction::client_to_server) == echo_command(payload).size() + k_ping.size());
  CHECK(proxy.forwarded(Direction::server_to_client) == echo_reply(payload).size() + k_pong.size());
}

TEST_CASE("latency delays each direction by at least base minus jitter, and keeps the order") {
  RedisServer redis;
  LinkProxy proxy(redis.port(), 3);
  proxy.set(Direction::client_to_server, DirectionFaults::with_latency(milliseconds(150), milliseconds(50)));
  proxy.set(Direction::server_to_client, DirectionFaults::with_latency(milliseconds(100), milliseconds(0)));
  Socket s(proxy.port());
  REQUIRE(s.connect_error() == 0);
  const auto start = Clock::now();
  std::string expected;
  for (int i = 0; i < 20; ++i) {
    const auto payload = "#" + std::to_string(i);
    s.send(echo_command(payload));
    expected += echo_reply(payload);
  }
  CHECK(s.receive(expected.size()) == expected);
  CHECK(Clock::now() - start >= milliseconds(100 + 100));
}

TEST_CASE("the slicer delivers everything intact and in order") {
  RedisServer redis;
  LinkProxy proxy(redis.port(), 5);
  proxy.set_both(DirectionFaults::sliced(3));
  Socket s(proxy.port());
  REQUIRE(s.connect_error() == 0);
  const auto payload = pattern(20000);
  s.send(echo_command(payload) + k_ping);
  CHECK(s.receive(echo_reply(payload).size() + k_pong.size()) == echo_reply(payload) + k_pong);
  CHECK(proxy.cut() == 0);
}

TEST_CASE("a data limit forwards exactly N bytes, then resets the connection") {
  RedisServer redis;
  LinkProxy proxy(redis.port());
  proxy.set(Direction::server_to_client, DirectionFaults::limited(10));
  Socket s(proxy.port());
  REQUIRE(s.connect_error() == 0);
  s.send(k_ping + k_ping + k_ping);
  CHECK(s.receive(100) == (k_pong + k_pong).substr(0, 10));
  CHECK(s.last_error() == ECONNRESET);
  CHECK(proxy.cut() == 1);
  // Every new connection has its own budget.
  Socket again(proxy.port());
  again.send(k_ping);
  CHECK(again.receive(k_pong.size()) == k_pong);
}

TEST_CASE("a black hole swallows what comes in; after clear() new connections are clean, the old one stays dead") {
  RedisServer redis;
  LinkProxy proxy(redis.port());
  proxy.set(Direction::server_to_client, DirectionFaults::black_hole());
  Socket s(proxy.port());
  REQUIRE(s.connect_error() == 0);
  s.send(k_ping);
  REQUIRE(swallowed_at_least(proxy, k_pong.size()));
  CHECK(s.receive(k_pong.size(), milliseconds(100)).empty());
  CHECK(s.last_error() == 0);  // no EOF, no reset: silence
  proxy.clear();
  s.send(k_ping);
  REQUIRE(swallowed_at_least(proxy, 2 * k_pong.size()));
  CHECK(s.receive(k_pong.size(), milliseconds(100)).empty());
  Socket fresh(proxy.port());
  fresh.send(k_ping);
  CHECK(fresh.receive(k_pong.size()) == k_pong);
}

TEST_CASE("reset() resets every open connection and keeps accepting") {
  RedisServer redis;
  LinkProxy proxy(redis.port());
  Socket a(proxy.port()), b(proxy.port());
  a.send(k_ping);
  b.send(k_ping);
  REQUIRE(a.receive(k_pong.size()) == k_pong);
  REQUIRE(b.receive(k_pong.size()) == k_pong);
  proxy.reset();
  CHECK(a.receive(1).empty());
  CHECK(a.last_error() == ECONNRESET);
  CHECK(b.receive(1).empty());
  CHECK(b.last_error() == ECONNRESET);
  CHECK(proxy.cut() == 2);
  CHECK(proxy.open_connections() == 0);
  Socket c(proxy.port());
  c.send(k_ping);
  CHECK(c.receive(k_pong.size()) == k_pong);
  CHECK(proxy.accepted() == 3);
}

TEST_CASE("reset toward one side: that side gets the RST, the other an orderly close") {
  RedisServer redis;
  LinkProxy proxy(redis.port());
  Socket a(proxy.port());
  a.send(k_ping);
  REQUIRE(a.receive(k_pong.size()) == k_pong);
  proxy.reset(Direction::client_to_server);  // redis-server is reset; the client sees EOF
  CHECK(a.receive(1).empty());
  CHECK(a.last_error() == -1);
  Socket b(proxy.port());
  b.send(k_ping);
  REQUIRE(b.receive(k_pong.size()) == k_pong);
  proxy.reset(Direction::server_to_client);  // the client is reset
  CHECK(b.receive(1).empty());
  CHECK(b.last_error() == ECONNRESET);
}

TEST_CASE("down: refused, or reset on accept; open connections are reset; clear() brings it back on the same port") {
  RedisServer redis;
  LinkProxy proxy(redis.port());
  const int port = proxy.port();
  Socket open(port);
  open.send(k_ping);
  REQUIRE(open.receive(k_pong.size()) == k_pong);

  proxy.down(DownMode::refuse);
  CHECK(open.receive(1).empty());
  CHECK(open.last_error() == ECONNRESET);
  Socket refused(port);
  CHECK(refused.connect_error() == ECONNREFUSED);

  proxy.down(DownMode::reset);
  Socket turned(port);
  if (turned.connect_error() == 0) {
    // The reset may come before or after the PING.
    const int sent = turned.try_send(k_ping);
    CHECK((sent == 0 || sent == ECONNRESET || sent == EPIPE));
    CHECK(turned.receive(k_pong.size()).empty());
    CHECK((turned.last_error() == ECONNRESET || turned.last_error() == -1));
  } else {
    CHECK(turned.connect_error() == ECONNRESET);
  }
  CHECK(proxy.turned_away() == 1);

  proxy.clear();
  CHECK(proxy.port() == port);
  Socket back(port);
  REQUIRE(back.connect_error() == 0);
  back.send(k_ping);
  CHECK(back.receive(k_pong.size()) == k_pong);
  CHECK(proxy.accepted() == 2);
}
