// The ownership journal: what polyarch created, written down before it is created.
//
// A journal is an append-only JSON Lines file. `Add` is appended and fsynced before the side
// effect it describes; `Remove` is appended after the side effect is undone. A record of
// something a reboot ends anyway (a running container of an OCI runtime) may skip the fsync:
// what polyarch has written survives polyarch being killed (it is in the kernel's page cache),
// and a crash of the machine takes the container with it, while the run's own durable record
// still leads cleanup to the run's directory. Replaying the
// file gives the live set: everything polyarch may have created and not yet removed. Cleanup
// works from that set only, never from a broad sweep of the host. A torn last line (a crash
// mid-append) is skipped on replay; concurrent polyarch processes serialize on a lock file.
#ifndef POLYARCH_HARNESS_CORE_JOURNAL_H_
#define POLYARCH_HARNESS_CORE_JOURNAL_H_

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/core/status.h"

namespace polyarch {

struct JournalRecord {
  std::string kind;  // "binfmt", "container", "mount", ...
  std::string key;   // unique within kind
  nlohmann::json data = nlohmann::json::object();
  std::string run;  // the run that created it ("" outside a run); set by the Journal
  // false: appended without fsync (see above). Only for what a reboot ends.
  bool durable = true;
};

class Journal {
 public:
  // Creates the parent directory (mode 0700) when missing; the file is created on first Add.
  static Result<Journal> Open(const std::string& path);

  const std::string& path() const { return path_; }

  // Every record added from now on names this run, so `polyarch cleanup` can find everything
  // a killed run left behind.
  void SetRun(std::string run_id) { run_ = std::move(run_id); }

  Status Add(const JournalRecord& record);
  // `durable` as the record's own: false only for records added with durable = false.
  Status Remove(std::string_view kind, std::string_view key, bool durable = true);

  // The live records, in the order they were added; a key added twice keeps its last data.
  Result<std::vector<JournalRecord>> Live() const;
  Result<std::vector<JournalRecord>> Live(std::string_view kind) const;

  // Rewrites the file to hold only the live records (atomically).
  Status Compact();

 private:
  explicit Journal(std::string path) : path_(std::move(path)) {}
  Status Append(const nlohmann::json& line, bool durable);
  Result<std::vector<JournalRecord>> LiveLocked() const;

  std::string path_;
  std::string run_;
};

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_CORE_JOURNAL_H_
