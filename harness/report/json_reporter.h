// The machine-readable report: docs/report.schema.json describes it, docs/report.md explains
// it. CI gates read this file, so it must parse whatever the stack printed into it.
#ifndef POLYARCH_HARNESS_REPORT_JSON_REPORTER_H_
#define POLYARCH_HARNESS_REPORT_JSON_REPORTER_H_

#include <string>

#include "harness/report/result.h"

namespace polyarch {

// ReportToJson, pretty-printed with a 2-space indent and a final newline. Always valid UTF-8:
// bytes in outputs and reasons that are not UTF-8 become U+FFFD. Never throws.
std::string FormatJsonReport(const RunReport& report);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_REPORT_JSON_REPORTER_H_
