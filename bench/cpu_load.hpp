// Every CPU busy: one spinning thread per CPU, from construction until
// destruction. The fdatasync probe runs under it a second time, to show what
// a sync costs when it completes while no CPU is free, as in a scenario that
// keeps Redis and the consumer busy on every CPU.
#pragma once

#include <atomic>
#include <thread>
#include <vector>

namespace streamckpt::bench {

class CpuLoad {
 public:
  CpuLoad();
  ~CpuLoad();
  CpuLoad(const CpuLoad&) = delete;
  CpuLoad& operator=(const CpuLoad&) = delete;

  unsigned threads() const { return static_cast<unsigned>(spinners_.size()); }

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> spinners_;
};

}  // namespace streamckpt::bench
