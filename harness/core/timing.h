// Clocks and deadlines shared across the tree.
#ifndef POLYARCH_HARNESS_CORE_TIMING_H_
#define POLYARCH_HARNESS_CORE_TIMING_H_

#include <algorithm>
#include <chrono>

namespace polyarch {

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
