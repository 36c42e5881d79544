// A producer on its own thread and its own connection, straight to
// redis-server (never through the proxy): XADD <stream> * n <i> for
// i = first … first + count - 1, `batch` entries at a time, `pause` apart.
#pragma once

#include <atomic>
#include <chrono>
#include <exception>
#include <string>
#include <thread>
#include <vector>

namespace streamckpt::test {

class Producer {
 public:
  Producer(int port, std::string stream, int first, int count, int batch, std::chrono::milliseconds pause);
  // Joins.
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Entries added so far.
  int produced() const { return produced_.load(); }
  // Waits for the last entry; returns every ID in order. Rethrows a failure.
  std::vector<std::string> join();

 private:
  std::vector<std::string> ids_;
  std::atomic<int> produced_{0};
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace streamckpt::test
