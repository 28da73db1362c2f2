// The cases of a run, handed to its workers in plan order. A case that must run alone
// (CaseDef::serial: it changes its arch's binfmt entry, or starts twenty containers at once)
// runs with no other case of its arch beside it and no other such case anywhere, while the
// cases of other arches go on around it: it waits only for its own arch. Once one waits, no
// new case of its arch starts before it, so it cannot be starved.
#ifndef POLYARCH_HARNESS_RUN_CASE_QUEUE_H_
#define POLYARCH_HARNESS_RUN_CASE_QUEUE_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace polyarch {

class CaseQueue {
 public:
  struct Entry {
    std::string arch;
    bool alone = false;  // no other case of `arch`, and no other such case, beside it
  };
  explicit CaseQueue(std::vector<Entry> entries);

  // The index of the next entry that may start now, waiting while every entry left must wait;
  // nullopt once none is left or `stop()` says so (asked at least every `poll`).
  std::optional<size_t> Next(const std::function<bool()>& stop,
                             std::chrono::milliseconds poll = std::chrono::milliseconds(100));
  // The entry `index` (returned by Next) has finished.
  void Done(size_t index);

 private:
  std::optional<size_t> TakeLocked();

  std::vector<Entry> entries_;
  std::deque<size_t> pending_;
  std::map<std::string, int> running_;  // per arch
  std::optional<std::string> alone_;    // the arch of the lone case running, if one is
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_RUN_CASE_QUEUE_H_
