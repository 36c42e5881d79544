// Whether this build runs under ThreadSanitizer (the programs the tests start
// are then built with it too).
#pragma once

namespace streamckpt::test {

#if defined(__SANITIZE_THREAD__)
inline constexpr bool k_thread_sanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool k_thread_sanitizer = true;
#else
inline constexpr bool k_thread_sanitizer = false;
#endif
#else
inline constexpr bool k_thread_sanitizer = false;
#endif

}  // namespace streamckpt::test
