// A scenario child: this binary started again with --scenario, its fd 3 the
// write end of a pipe that carries its reports, reaped with wait4 for its CPU
// time and peak RSS.
#pragma once

#include <sys/types.h>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace streamckpt::bench {

struct ChildExit {
  int status = 0;                // as wait4 gives it
  double cpu_s = 0;              // user + system, every thread
  double maxrss_mb = 0;          // ru_maxrss: includes the parent's peak inherited at exec
  bool clean() const;            // exited with status 0
  std::string describe() const;  // "exited with status 1", "killed by signal 9"
};

class ChildProcess {
 public:
  // Throws std::runtime_error when it cannot start.
  ChildProcess(const std::string& exe, const std::vector<std::string>& args);
  ~ChildProcess();  // kills and reaps a child still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // CLOCK_MONOTONIC just before the spawn, in ns.
  std::uint64_t spawned_ns() const { return spawned_ns_; }

  enum class Read { line, eof, timeout };
  // The next report line (without its newline). Throws Interrupted.
  Read read_line(std::string& line, std::chrono::milliseconds timeout);

  void kill(int sig);
  // Reaps the child (once). Throws Interrupted after killing it.
  ChildExit wait();

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  bool eof_ = false;
  std::string buffer_;
  std::uint64_t spawned_ns_ = 0;
  ChildExit exit_;
};

// This executable's path, for starting it again.
std::string self_exe();

}  // namespace streamckpt::bench
