// The trace clock: monotonic nanoseconds (CLOCK_MONOTONIC through steady_clock), one read per
// timestamp. Wall-clock time is recorded once per run, for display.
#pragma once

#include <chrono>
#include <cstdint>

namespace moescope::trace {

inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline int64_t unix_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace moescope::trace
