// Bounded capture of a stream: keeps the first `head` bytes and the last `tail` bytes and
// counts what was dropped between them, so a child that floods its output cannot exhaust
// memory while the start (the command's own banner) and the end (the error) survive.
#ifndef POLYARCH_HARNESS_CORE_CAPTURE_H_
#define POLYARCH_HARNESS_CORE_CAPTURE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace polyarch {

struct CapturedOutput {
  std::string head;
  std::string tail;  // continues `head` directly when dropped_bytes == 0
  uint64_t total_bytes = 0;
  uint64_t dropped_bytes = 0;

  bool complete() const { return dropped_bytes == 0; }
  // head, a one-line marker naming the dropped byte count when anything was dropped, tail.
  std::string Text() const;
};

class BoundedCapture {
 public:
  BoundedCapture(size_t head_limit, size_t tail_limit)
      : head_limit_(head_limit), tail_limit_(tail_limit) {}

  void Append(std::string_view data);
  uint64_t total_bytes() const { return total_; }
  CapturedOutput Finish() const;

 private:
  size_t head_limit_;
  size_t tail_limit_;
  uint64_t total_ = 0;
  std::string head_;
  std::string tail_;  // may hold up to 2 * tail_limit_ before trimming, to amortize erases
};

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_CORE_CAPTURE_H_
