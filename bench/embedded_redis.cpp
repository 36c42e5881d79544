#include "embedded_redis.hpp"

#include <hiredis/hiredis.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace streamckpt::bench {
namespace {

// A port the kernel just had free. Another process may take it before
// redis-server binds it; the caller retries with another.
int pick_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("cannot open a socket to pick a port");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot pick a free loopback port");
  return ntohs(addr.sin_port);
}

bool answers_ping(int port) {
  const timeval tv{0, 200000};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (!c || c->err) {
    if (c) redisFree(c);
    return false;
  }
  auto* r = static_cast<redisReply*>(redisCommand(c, "PING"));
  const bool ok = r && r->type == REDIS_REPLY_STATUS;
  if (r) freeReplyObject(r);
  redisFree(c);
  return ok;
}

// The last lines of redis-server's log, for an error message: the log goes
// with its temporary directory.
std::string log_tail(const std::filesystem::path& log) {
  std::ifstream in(log);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(std::move(line));
  std::string tail;
  for (std::size_t i = lines.size() > 3 ? lines.size() - 3 : 0; i < lines.size(); ++i) tail += "\n  " + lines[i];
  return tail.empty() ? " (its log is empty)" : "; the end of its log:" + tail;
}

}  // namespace

EmbeddedRedis::EmbeddedRedis() : dir_("streamckpt-bench-redis") {
  const auto log = dir_.path() / "redis.log";
  for (int attempt = 0; attempt < 20; ++attempt) {
    std::error_code ignored;
    std::filesystem::remove(log, ignored);  // the log of this attempt only
    port_ = pick_free_port();
    std::vector<std::string> args = {
        "redis-server", "--bind", "127.0.0.1",    "--port", std::to_string(port_), "--dir",     dir_.path().string(),
        "--save",       "",       "--appendonly", "no",     "--logfile",           log.string()};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      // Its own process group: a ^C at the terminal reaches the benchmark,
      // which then cleans up, not the server under it. It dies with us.
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(1);
      ::execvp("redis-server", argv.data());
      ::_exit(127);
    }
    pid_ = pid;
    for (int i = 0; i < 250; ++i) {
      if (answers_ping(port_)) return;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
          throw std::runtime_error("cannot run redis-server (is it installed and on PATH?); or use --redis URL");
        break;  // most likely the port was taken: try another
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop();
  }
  throw std::runtime_error("redis-server did not start (use --redis URL instead)" + log_tail(log));
}

void EmbeddedRedis::stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
}

EmbeddedRedis::~EmbeddedRedis() { stop(); }

}  // namespace streamckpt::bench
