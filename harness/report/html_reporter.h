// One self-contained HTML page for people: context, summary, the arch x layer matrix, the
// failures and latency charts. It is mailed, attached to CI runs and opened offline, so it
// loads nothing: no network, no external script, style or font, and no JavaScript at all.
#ifndef POLYARCH_HARNESS_REPORT_HTML_REPORTER_H_
#define POLYARCH_HARNESS_REPORT_HTML_REPORTER_H_

#include <string>

#include "harness/report/result.h"

namespace polyarch {

// The page, in this order: header (context basics, complete/incomplete banner, exit code),
// summary, arch x layer matrix, failed/errored/aborted cases with reasons and step output,
// skip reasons, step latency per layer (inline SVG box plots of p50/p90/p99/max from
// ComputeDistribution), then, when the report has them, report.sections["throughput"]
// (starts/s against concurrency and latency per concurrency, per layer) and
// report.sections["crossarch"] (emulated vs native per arch); docs/report.md describes those
// sections. A section missing or malformed is left out, never an error. All text is
// HTML-escaped and the page is valid UTF-8.
std::string FormatHtml(const RunReport& report);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_REPORT_HTML_REPORTER_H_
