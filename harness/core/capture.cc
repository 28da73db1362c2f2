#include "harness/core/capture.h"

#include <algorithm>

namespace polyarch {

std::string CapturedOutput::Text() const {
  if (dropped_bytes == 0) return head + tail;
  std::string s = head;
  if (!s.empty() && s.back() != '\n') s += '\n';
  s += "[... " + std::to_string(dropped_bytes) + " bytes dropped ...]\n";
  s += tail;
  return s;
}

void BoundedCapture::Append(std::string_view data) {
  total_ += data.size();
  if (head_.size() < head_limit_) {
    size_t take = std::min(head_limit_ - head_.size(), data.size());
    head_.append(data.substr(0, take));
    data.remove_prefix(take);
  }
  if (data.empty() || tail_limit_ == 0) return;
  if (data.size() >= tail_limit_) {
    tail_.assign(data.substr(data.size() - tail_limit_));
    return;
  }
  tail_.append(data);
  if (tail_.size() > 2 * tail_limit_) tail_.erase(0, tail_.size() - tail_limit_);
}

CapturedOutput BoundedCapture::Finish() const {
  CapturedOutput out;
  out.head = head_;
  out.tail = tail_.size() > tail_limit_ ? tail_.substr(tail_.size() - tail_limit_) : tail_;
  out.total_bytes = total_;
  out.dropped_bytes = total_ - out.head.size() - out.tail.size();
  return out;
}

}  // namespace polyarch
