// The progress line on stderr, only when stderr is a terminal.
#pragma once

#include <chrono>
#include <string_view>

namespace streamckpt::bench {

class ProgressLine {
 public:
  ProgressLine();
  ~ProgressLine() { clear(); }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // Replaces the line; at most every 100 ms unless `force`.
  void show(std::string_view text, bool force = false);
  void clear();

 private:
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace streamckpt::bench
