// Clocks and deadlines shared across the tree.
#ifndef POLYARCH_HARNESS_CORE_TIMING_H_
#define POLYARCH_HARNESS_CORE_TIMING_H_

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>

namespace polyarch {

// RFC 3339 in UTC to the second, "2026-12-02T15:07:36Z": report timestamps, journal records,
// containerd's gc.expire labels.
std::string Rfc3339Utc(std::chrono::system_clock::time_point t);
inline std::string UtcNow() { return Rfc3339Utc(std::chrono::system_clock::now()); }

// Nanoseconds since `start` on the steady clock: a step's duration.
inline int64_t NanosSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                              start)
      .count();
}

// What is left until `deadline`, kept within [floor, cap]: the floor gives a last attempt a
// chance to answer even when the deadline has just passed.
inline std::chrono::milliseconds Remaining(std::chrono::steady_clock::time_point deadline,
                                           std::chrono::milliseconds floor,
                                           std::chrono::milliseconds cap) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return std::clamp(left, floor, cap);
}

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_CORE_TIMING_H_
