#include "harness/report/junit_reporter.h"

#include <sstream>
#include <utility>
#include <vector>

#include "harness/report/text.h"
#include "harness/report/views.h"

namespace polyarch {
namespace {

struct Group {
  std::string name;  // "lifecycle.runc.s390x"
  std::vector<const CaseResult*> cases;
  StatusCounts counts;
  int64_t duration_ns = 0;
};

std::vector<Group> GroupCases(const std::vector<CaseResult>& cases) {
  std::vector<Group> groups;
  for (const auto& c : cases) {
    std::string name = c.suite + "." + c.layer + "." + c.arch;
    Group* g = nullptr;
    for (auto& existing : groups) {
      if (existing.name == name) g = &existing;
    }
    if (!g) {
      groups.push_back({name, {}, {}, 0});
      g = &groups.back();
    }
    g->cases.push_back(&c);
    g->counts.Add(c.status);
    g->duration_ns += c.duration_ns;
  }
  return groups;
}

std::string Attr(std::string_view s) { return EscapeXml(s, /*attribute=*/true); }

// What a CI page shows when a reader expands the failure: enough to act on without opening
// the JSON report. Unescaped; the caller escapes it as element text.
std::string FailureText(const CaseResult& c) {
  std::ostringstream o;
  o << c.Id() << ": " << CaseStatusName(c.status) << "\n";
  o << PrefixLines(c.reason, "reason: ", "        ");
  if (!c.spec_ref.empty()) o << "checks: " << c.spec_ref << "\n";
  if (!c.steps.empty()) o << "steps:\n";
  for (const auto& s : c.steps) {
    o << "  " << (s.ok ? "ok    " : "FAILED") << " " << s.name;
    if (!s.operation.empty() && s.operation != s.name) o << " (" << s.operation << ")";
    o << " " << FormatDurationNs(s.duration_ns) << "\n";
    o << PrefixLines(s.error, "         error: ", "                ");
    if (!s.output.empty()) {
      o << "         output:\n";
      o << PrefixLines(s.output, "           | ", "           | ");
    }
  }
  return o.str();
}

}  // namespace

std::string FormatJUnit(const RunReport& report) {
  const std::vector<Group> groups = GroupCases(report.cases);
  const Summary total = Summarize(report.cases);
  std::vector<std::pair<std::string, std::string>> properties = ContextBasics(report.context);
  properties.emplace_back("run.complete", report.complete ? "true" : "false");
  if (!report.incomplete_reason.empty()) {
    properties.emplace_back("run.incomplete_reason", report.incomplete_reason);
  }
  if (!report.started_at.empty()) properties.emplace_back("run.started_at", report.started_at);
  if (!report.finished_at.empty()) properties.emplace_back("run.finished_at", report.finished_at);
  properties.emplace_back("run.exit_code", std::to_string(report.exit_code));
  if (!report.exit_reasons.empty()) {
    std::string reasons;
    for (const auto& r : report.exit_reasons) reasons += (reasons.empty() ? "" : "; ") + r;
    properties.emplace_back("run.exit_reasons", reasons);
  }
  const std::string hostname = ContextValue(report.context, "host.hostname");

  std::ostringstream o;
  o << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  // JUnit has no "aborted": it is an error a CI page must show, with its own type. Nor has it
  // xfail and xpass: a known deviation is shown as skipped (it does not fail the run), a stale
  // expectation as a failure (the entry must go).
  o << "<testsuites name=\"polyarch\" tests=\"" << total.total << "\" failures=\""
    << total.fail + total.xpass << "\" errors=\"" << total.error + total.aborted << "\" skipped=\""
    << total.skip + total.xfail << "\" time=\"" << FormatSeconds(total.duration_ns) << "\">\n";
  for (const auto& g : groups) {
    const StatusCounts& n = g.counts;
    o << "  <testsuite name=\"" << Attr(g.name) << "\" tests=\"" << n.Total() << "\" failures=\""
      << n.fail + n.xpass << "\" errors=\"" << n.error + n.aborted << "\" skipped=\""
      << n.skip + n.xfail << "\" time=\"" << FormatSeconds(g.duration_ns) << "\"";
    if (!report.started_at.empty()) o << " timestamp=\"" << Attr(report.started_at) << "\"";
    if (!hostname.empty()) o << " hostname=\"" << Attr(hostname) << "\"";
    o << ">\n";
    o << "    <properties>\n";
    for (const auto& [name, value] : properties) {
      o << "      <property name=\"" << Attr(name) << "\" value=\"" << Attr(value) << "\"/>\n";
    }
    o << "    </properties>\n";
    for (const CaseResult* c : g.cases) {
      std::string name = c->name;
      if (c->repeat > 0) name += "#" + std::to_string(c->repeat + 1);
      o << "    <testcase classname=\"" << Attr(g.name) << "\" name=\"" << Attr(name)
        << "\" time=\"" << FormatSeconds(c->duration_ns) << "\"";
      switch (c->status) {
        case CaseStatus::kPass:
          o << "/>\n";
          continue;
        case CaseStatus::kSkip:
          o << ">\n      <skipped message=\"" << Attr(c->reason) << "\"/>\n";
          break;
        case CaseStatus::kXfail:
          o << ">\n      <skipped message=\"" << Attr("xfail: " + c->reason) << "\"/>\n";
          break;
        case CaseStatus::kFail:
        case CaseStatus::kXpass:
          o << ">\n      <failure message=\""
            << Attr(c->status == CaseStatus::kXpass ? "xpass: " + c->reason : c->reason)
            << "\" type=\"" << CaseStatusName(c->status) << "\">"
            << EscapeXml(FailureText(*c), false) << "</failure>\n";
          break;
        case CaseStatus::kError:
        case CaseStatus::kAborted:
          o << ">\n      <error message=\"" << Attr(c->reason) << "\" type=\""
            << CaseStatusName(c->status) << "\">" << EscapeXml(FailureText(*c), false)
            << "</error>\n";
          break;
      }
      o << "    </testcase>\n";
    }
    o << "  </testsuite>\n";
  }
  o << "</testsuites>\n";
  return o.str();
}

}  // namespace polyarch
