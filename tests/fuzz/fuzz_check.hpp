// FUZZ_CHECK: an invariant of a fuzz target. A failure prints the condition
// and where it is, then aborts: libFuzzer and the replay driver both treat an
// abort as a finding and keep the input that caused it.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace streamckpt::fuzz {

[[noreturn]] inline void check_failed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", file, line, condition);
  std::fflush(stderr);
  std::abort();
}

}  // namespace streamckpt::fuzz

#define FUZZ_CHECK(condition) \
  ((condition) ? static_cast<void>(0) : ::streamckpt::fuzz::check_failed(#condition, __FILE__, __LINE__))
