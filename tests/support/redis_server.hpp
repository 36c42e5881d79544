// A real redis-server for a test: started on a free loopback port in its own
// temporary directory, killed (and the directory removed) by the destructor,
// also when the test fails.
#pragma once

#include <hiredis/hiredis.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace streamckpt::test {

// A loopback port that was free a moment ago.
int free_port();

class RedisServer {
 public:
  // Extra redis-server arguments, e.g. {"--requirepass", "secret"}.
  // `config`, when given, is written to a file in the server's directory and
  // named first (Sentinel needs a file of its own to rewrite).
  explicit RedisServer(std::vector<std::string> extra_args = {}, std::string config = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  const std::filesystem::path& dir() const { return dir_; }
  // kill -9 the server.
  void kill();
  // kill -9, then start again on the same port: without persistence it comes
  // back empty.
  void restart();

 private:
  void start();
  bool launch();  // starts on port_; false when it did not come up
  std::vector<std::string> extra_args_;
  std::string config_;
  std::filesystem::path dir_;
  int port_ = 0;
  int pid_ = -1;
};

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

// A synchronous client for producing entries and inspecting state.
class Client {
 public:
  explicit Client(int port, const std::string& password = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Runs one command; throws on a connection failure (not on an error reply).
  Reply run(const std::vector<std::string>& args);
  // XADD <stream> * n <i> for i in [first, first + count); returns the IDs.
  std::vector<std::string> produce(const std::string& stream, int first, int count);

 private:
  redisContext* ctx_ = nullptr;
};

// A fresh temporary directory, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace streamckpt::test
