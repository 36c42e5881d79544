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
    spinners_.emplace_back([this](std::stop_token stop) {
      running_.fetch_add(1);
      while (!stop.stop_requested()) {
      }
    });
  // The probe's first samples must already meet every CPU busy.
  while (running_.load() < cpus) std::this_thread::yield();
}

}  // namespace streamckpt::bench
