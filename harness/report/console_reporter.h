// What a person at a terminal sees: during the run a progress line, at the end a summary
// that answers "what broke, where" without opening a file.
#ifndef POLYARCH_HARNESS_REPORT_CONSOLE_REPORTER_H_
#define POLYARCH_HARNESS_REPORT_CONSOLE_REPORTER_H_

#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "harness/report/result.h"
#include "harness/report/views.h"

namespace polyarch {

// The end-of-run summary: the arch x layer matrix of pass/fail/skip counts (errors and aborts
// shown when nonzero), every failed, errored and aborted case with its reason, the skip
// reasons with their counts, the totals, and the report files listed in
// report.sections["paths"] (an object: format -> path). ANSI colors only when color is true.
// Text from the stack is made printable: no escape sequence in a reason reaches the terminal.
std::string FormatConsoleSummary(const RunReport& report, bool color);

// One finished case, as printed when the output is not a terminal (CI logs):
//   "[ 12/340] pass    lifecycle/runc/s390x/create_reports_created 31 ms"
// A case that did not pass carries the first line of its reason after a colon.
std::string FormatProgressLine(int done, int total, const CaseResult& c, bool color);

// The live line on a terminal, without "\r" or newline, at most `width` columns:
//   "[ 12/340] 10 pass, 1 fail, 1 skip | lifecycle/runc/s390x/create_reports_created (+1)"
// `current` is the most recently started case still running ("" for none) and `running`
// how many are running in all.
std::string FormatLiveProgress(int done, int total, const StatusCounts& counts,
                               std::string_view current, int running, size_t width);

// Prints progress while cases run. Suites may finish cases on several threads, so every
// method takes a lock. On a terminal one line is rewritten in place, and each case that
// failed, errored or aborted also gets a permanent line above it; elsewhere each finished
// case gets one plain line (FormatProgressLine), because \r in a CI log is noise.
class ProgressPrinter {
 public:
  ProgressPrinter(FILE* out, bool tty, int total);
  ProgressPrinter(const ProgressPrinter&) = delete;
  ProgressPrinter& operator=(const ProgressPrinter&) = delete;

  void CaseStarted(const std::string& id);
  void CaseFinished(const CaseResult& c);
  // Ends the live line (on a terminal) so later output starts on a fresh line.
  void Finish();

 private:
  void DrawLocked();

  std::mutex mu_;
  FILE* const out_;
  const bool tty_;
  const int total_;
  size_t width_ = 80;
  int done_ = 0;
  StatusCounts counts_;
  std::vector<std::string> running_;  // ids, in start order
  bool finished_ = false;
};

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_REPORT_CONSOLE_REPORTER_H_
