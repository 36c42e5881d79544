#include "redis_server.hpp"
#include "cli.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace streamckpt::test {
namespace {

// Asks the kernel for a free port. Another process may take it before
// redis-server binds it: the caller retries.
int pick_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot pick a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool answers(int port) {
  timeval tv{0, 200000};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (!c || c->err) {
    if (c) redisFree(c);
    return false;
  }
  auto* r = static_cast<redisReply*>(redisCommand(c, "PING"));
  const bool ok = r != nullptr;  // PONG, or NOAUTH from a server with a password: it is up
  if (r) freeReplyObject(r);
  redisFree(c);
  return ok;
}

}  // namespace

int free_port() { return pick_free_port(); }

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "streamckpt-test-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

RedisServer::RedisServer(std::vector<std::string> extra_args, std::string config)
    : extra_args_(std::move(extra_args)), config_(std::move(config)) {
  std::string pattern = (std::filesystem::temp_directory_path() / "streamckpt-redis-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  start();
}

bool RedisServer::launch() {
  std::vector<std::string> args = {"redis-server",
                                   "--bind",
                                   "127.0.0.1",
                                   "--port",
                                   std::to_string(port_),
                                   "--dir",
                                   dir_.string(),
                                   "--save",
                                   "",
                                   "--appendonly",
                                   "no",
                                   "--logfile",
                                   (dir_ / "redis.log").string()};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  if (!config_.empty()) {
    const auto file = dir_ / "node.conf";
    std::ofstream(file) << config_;
    args.insert(args.begin() + 1, file.string());
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = spawn("redis-server", argv, {}, {}, true);
  for (int i = 0; i < 250; ++i) {
    if (answers(port_)) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill();
  return false;
}

void RedisServer::start() {
  for (int attempt = 0; attempt < 20; ++attempt) {
    port_ = pick_free_port();
    if (launch()) return;
  }
  throw std::runtime_error("redis-server did not start (is it installed?)");
}

void RedisServer::restart() {
  kill();
  for (int attempt = 0; attempt < 50; ++attempt) {
    if (launch()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw std::runtime_error("redis-server did not restart on its port");
}

void RedisServer::kill() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
}

RedisServer::~RedisServer() {
  kill();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

Client::Client(int port, const std::string& password) {
  ctx_ = redisConnect("127.0.0.1", port);
  if (!ctx_ || ctx_->err) {
    if (ctx_) redisFree(ctx_);  // no destructor runs for a constructor that throws
    ctx_ = nullptr;
    throw std::runtime_error("cannot connect to the test redis-server");
  }
  if (!password.empty()) run({"AUTH", password});
}

Client::~Client() {
  if (ctx_) redisFree(ctx_);
}

Reply Client::run(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* r = static_cast<redisReply*>(redisCommandArgv(ctx_, static_cast<int>(args.size()), argv.data(), lens.data()));
  if (!r) throw std::runtime_error("redis command failed: connection lost");
  return Reply(r);
}

std::vector<std::string> Client::produce(const std::string& stream, int first, int count) {
  for (int i = first; i < first + count; ++i) {
    const std::string n = std::to_string(i);
    const char* argv[] = {"XADD", stream.c_str(), "*", "n", n.c_str()};
    redisAppendCommandArgv(ctx_, 5, argv, nullptr);
  }
  std::vector<std::string> ids;
  for (int i = 0; i < count; ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK) throw std::runtime_error("XADD failed: connection lost");
    Reply r(static_cast<redisReply*>(raw));
    if (r->type != REDIS_REPLY_STRING) throw std::runtime_error("XADD failed");
    ids.emplace_back(r->str, r->len);
  }
  return ids;
}

}  // namespace streamckpt::test
