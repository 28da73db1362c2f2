// The report of a run as it goes: cases are added as they finish, from any worker, and the
// report is rewritten at most once a second (and at the end), so an interrupted or crashed
// run still leaves everything it finished. The progress line goes to stderr.
#ifndef POLYARCH_HARNESS_RUN_REPORT_SINK_H_
#define POLYARCH_HARNESS_RUN_REPORT_SINK_H_

#include <chrono>
#include <mutex>
#include <string>

#include "harness/core/status.h"
#include "harness/report/console_reporter.h"
#include "harness/report/result.h"

namespace polyarch {

class ReportSink {
 public:
  ReportSink(std::string dir, bool tty, int total)
      : dir_(std::move(dir)), progress_(stderr, tty, total) {}

  // The report itself; hold mu() while touching it from outside.
  RunReport& report() { return report_; }
  std::mutex& mu() { return mu_; }
  const std::string& dir() const { return dir_; }

  void Started(const std::string& id) { progress_.CaseStarted(id); }
  void Add(CaseResult c);
  // Writes report.json now: a temporary file, fsync, rename, so a full disk leaves the
  // previous report and never half of one.
  Status Write();
  void FinishProgress() { progress_.Finish(); }

 private:
  Status WriteLocked();

  std::string dir_;
  std::mutex mu_;
  RunReport report_;
  ProgressPrinter progress_;
  std::chrono::steady_clock::time_point last_write_{};
};

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_RUN_REPORT_SINK_H_
