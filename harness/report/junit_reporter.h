// JUnit XML, the format CI systems (Jenkins, GitLab, GitHub test reporters) render. One
// <testsuite> per suite x layer x arch so a CI page groups results the way the matrix does.
#ifndef POLYARCH_HARNESS_REPORT_JUNIT_REPORTER_H_
#define POLYARCH_HARNESS_REPORT_JUNIT_REPORTER_H_

#include <string>

#include "harness/report/result.h"

namespace polyarch {

// <testsuites name="polyarch" ...> with a <testsuite name="lifecycle.runc.s390x"> per group
// (in run order) and a <testcase> per case: fail -> <failure>, error and aborted -> <error
// type="error|aborted">, skip -> <skipped>; the failure/error text lists the case's steps
// with their errors and output. Each testsuite carries the context basics as <properties>.
// Always well-formed XML 1.0 in valid UTF-8 (characters XML forbids are dropped).
std::string FormatJUnit(const RunReport& report);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_REPORT_JUNIT_REPORTER_H_
