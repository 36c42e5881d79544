// Every CPU busy: one spinning thread per CPU this process may use, from
// construction until destruction. The fdatasync probe runs under it a second
// time, to show what a sync costs when it completes while no CPU is free, as
// in a scenario that keeps Redis and the consumer busy on every CPU.
#pragma once

#include <atomic>
#include <thread>
#include <vector>

namespace streamckpt::bench {

class CpuLoad {
 public:
  // Returns once every thread runs.
  CpuLoad();

  unsigned threads() const { return static_cast<unsigned>(spinners_.size()); }

 private:
  std::atomic<unsigned> running_{0};    // threads started; declared first, so it outlives them
  std::vector<std::jthread> spinners_;  // stopped and joined however the constructor or the scope ends
};

}  // namespace streamckpt::bench
