// A throwaway redis-server: a free loopback port, its own temporary
// directory, no persistence. The destructor kills it and removes the
// directory.
#pragma once

#include "temp_dir.hpp"

#include <sys/types.h>
#include <string>

namespace streamckpt::bench {

class EmbeddedRedis {
 public:
  // Throws std::runtime_error when redis-server does not start.
  EmbeddedRedis();
  ~EmbeddedRedis();
  EmbeddedRedis(const EmbeddedRedis&) = delete;
  EmbeddedRedis& operator=(const EmbeddedRedis&) = delete;

  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

 private:
  void stop();
  TempDir dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace streamckpt::bench
