// The child's reports to the parent: one "key value" line each, written to
// the pipe on k_result_fd. Lines of one write() up to PIPE_BUF bytes never
// interleave, and whatever a SIGKILLed child wrote stays readable.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace streamckpt::bench {

class ResultPipe {
 public:
  explicit ResultPipe(int fd) : fd_(fd) {}
  void send(std::string_view key, std::string_view value) const;
  void send(std::string_view key, std::uint64_t value) const;
  void send(std::string_view key, double value) const;

 private:
  int fd_;
};

// Nanoseconds on CLOCK_MONOTONIC (std::chrono::steady_clock), comparable
// between processes of one machine.
std::uint64_t monotonic_ns();

// The process's peak resident set (VmHWM) in KiB, 0 when unknown. Unlike
// ru_maxrss, it does not include the parent's peak inherited across exec.
std::uint64_t peak_rss_kib();

}  // namespace streamckpt::bench
