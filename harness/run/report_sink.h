// The report of a run as it goes: cases are added as they finish, from any worker, and the
// report is rewritten at most once a second (and at the end), so an interrupted or crashed
// run still leaves everything it finished. The progress line goes to stderr. Each case meets
// the run's expectations as it is added, so the progress and every report written from then
// on show a known deviation as xfail.
#ifndef POLYARCH_HARNESS_RUN_REPORT_SINK_H_
#define POLYARCH_HARNESS_RUN_REPORT_SINK_H_

#include <chrono>
#include <mutex>
#include <string>

#include "harness/core/status.h"
#include "harness/report/console_reporter.h"
#include "harness/report/result.h"
#include "harness/run/expectations.h"

namespace polyarch {

class ReportSink {
 public:
  // `expectations` (may be null) must outlive the sink.
  ReportSink(std::string dir, bool tty, int total, const Expectations* expectations = nullptr)
      : dir_(std::move(dir)), expectations_(expectations), progress_(stderr, tty, total) {}

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
  const Expectations* expectations_;
  std::mutex mu_;
  RunReport report_;
  ProgressPrinter progress_;
  std::chrono::steady_clock::time_point last_write_{};
};

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_RUN_REPORT_SINK_H_
