#include "harness/run/case_queue.h"

#include <set>

namespace polyarch {

CaseQueue::CaseQueue(std::vector<Entry> entries) : entries_(std::move(entries)) {
  for (size_t i = 0; i < entries_.size(); ++i) pending_.push_back(i);
}

std::optional<size_t> CaseQueue::TakeLocked() {
  std::set<std::string> held;  // arches whose waiting lone case goes first
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    const Entry& e = entries_[*it];
    if (held.count(e.arch)) continue;
    const bool can = e.alone ? !alone_ && running_[e.arch] == 0 : alone_ != e.arch;
    if (!can) {
      // Its arch's running cases finish, and no new one starts before it.
      if (e.alone && running_[e.arch] > 0) held.insert(e.arch);
      continue;
    }
    const size_t index = *it;
    pending_.erase(it);
    ++running_[e.arch];
    if (e.alone) alone_ = e.arch;
    return index;
  }
  return std::nullopt;
}

std::optional<size_t> CaseQueue::Next(const std::function<bool()>& stop,
                                      std::chrono::milliseconds poll) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (pending_.empty() || (stop && stop())) return std::nullopt;
    if (auto index = TakeLocked()) return index;
    cv_.wait_for(lock, poll);
  }
}

void CaseQueue::Done(size_t index) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    const Entry& e = entries_[index];
    --running_[e.arch];
    if (e.alone) alone_.reset();
  }
  cv_.notify_all();
}

}  // namespace polyarch
