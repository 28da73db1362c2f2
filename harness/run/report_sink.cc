#include "harness/run/report_sink.h"

#include "harness/core/fs.h"
#include "harness/core/log.h"
#include "harness/report/json_reporter.h"

namespace polyarch {

void ReportSink::Add(CaseResult c) {
  if (expectations_ != nullptr) {
    if (const Expectation* e = FindExpectation(*expectations_, c)) ApplyExpectation(*e, &c);
  }
  progress_.CaseFinished(c);
  std::lock_guard<std::mutex> lock(mu_);
  report_.cases.push_back(std::move(c));
  if (std::chrono::steady_clock::now() - last_write_ > std::chrono::seconds(1)) {
    Status s = WriteLocked();
    if (!s.ok()) PA_LOG(kWarning) << "report not updated: " << s.message();
  }
}

Status ReportSink::Write() {
  std::lock_guard<std::mutex> lock(mu_);
  return WriteLocked();
}

Status ReportSink::WriteLocked() {
  last_write_ = std::chrono::steady_clock::now();
  return WriteFileAtomic(dir_ + "/report.json", FormatJsonReport(report_));
}

}  // namespace polyarch
