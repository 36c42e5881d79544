#include "cpu_load.hpp"

#include <sched.h>

#include <algorithm>

namespace streamckpt::bench {
namespace {

// The CPUs this process may run on (taskset, cgroups' cpusets), else all.
unsigned usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
    return static_cast<unsigned>(CPU_COUNT(&set));
  return std::max(1U, std::thread::hardware_concurrency());
}

}  // namespace

CpuLoad::CpuLoad() {
  const unsigned cpus = usable_cpus();
  for (unsigned i = 0; i < cpus; ++i)
    spinners_.emplace_back([this] {
      // Relaxed: the flag carries no data, and the loop must not yield.
      while (!stop_.load(std::memory_order_relaxed)) {
      }
    });
}

CpuLoad::~CpuLoad() {
  stop_.store(true, std::memory_order_relaxed);
  for (auto& t : spinners_) t.join();
}

}  // namespace streamckpt::bench
