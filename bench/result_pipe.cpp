#include "result_pipe.hpp"

#include <fmt/format.h>

#include <unistd.h>
#include <cerrno>
#include <chrono>
#include <fstream>

namespace streamckpt::bench {

void ResultPipe::send(std::string_view key, std::string_view value) const {
  std::string line;
  line.reserve(key.size() + value.size() + 2);
  line.append(key);
  line.push_back(' ');
  for (const char c : value) line.push_back(c == '\n' ? ' ' : c);  // one report, one line
  line.push_back('\n');
  std::string_view rest = line;
  while (!rest.empty()) {
    const auto n = ::write(fd_, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the parent is gone: nobody to tell
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

void ResultPipe::send(std::string_view key, std::uint64_t value) const { send(key, std::to_string(value)); }

void ResultPipe::send(std::string_view key, double value) const { send(key, fmt::format("{:.6f}", value)); }

std::uint64_t monotonic_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

std::uint64_t peak_rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string word;
  while (status >> word) {
    if (word == "VmHWM:") {
      std::uint64_t kib = 0;
      status >> kib;
      return kib;
    }
  }
  return 0;
}

}  // namespace streamckpt::bench
