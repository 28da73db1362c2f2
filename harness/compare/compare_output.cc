// `polyarch compare`'s output: the table people read and the JSON CI keeps. Formatting only:
// every number and verdict was decided by CompareReports (compare.cc).
#include <sstream>

#include "harness/compare/compare.h"
#include "harness/report/text.h"

namespace polyarch {

using nlohmann::json;

namespace {

std::string Percent(double fraction) { return StringPrintf("%g%%", fraction * 100); }

}  // namespace

// ---------------------------------------------------------------------------------------
// Output. Formatting only: every number and verdict was decided above.

namespace {

std::string Cell(std::string_view text) { return ToPrintable(FirstLine(text), false); }

std::string FormatValue(const CompareRow& r, const std::optional<double>& v) {
  if (!v) return "-";
  if (r.metric == "errors") return StringPrintf("%.0f", *v);
  if (r.metric == "starts_per_s") return FormatMs(*v) + "/s";
  return FormatMs(*v) + " ms";
}

std::string VerdictText(const CompareRow& r) {
  std::string v(VerdictName(r.verdict));
  return r.note.empty() ? v : v + ": " + r.note;
}

void FormatPerformance(const CompareResult& result, std::ostringstream& o) {
  const CompareOptions& opt = result.options;
  o << "Performance (threshold " << Percent(opt.max_regression) << ", noise k "
    << StringPrintf("%g", opt.noise_k) << "; change: + is worse)\n";
  std::vector<std::vector<std::string>> table;
  table.push_back({"LAYER/ARCH/K", "METRIC", "BASELINE", "CURRENT", "CHANGE", "NOISE", "VERDICT"});
  for (const auto& r : result.rows) {
    if (r.kind != RowKind::kPerformance) continue;
    table.push_back({Cell(r.id), r.metric.empty() ? "-" : r.metric, FormatValue(r, r.baseline),
                     FormatValue(r, r.current),
                     r.change ? StringPrintf("%+.1f%%", *r.change * 100) : "-",
                     r.noise ? StringPrintf("%.1f%%", *r.noise * 100) : "-", Cell(VerdictText(r))});
  }
  if (table.size() == 1) {
    o << "  no throughput data in either report\n";
    return;
  }
  std::vector<size_t> width(table[0].size(), 0);
  for (const auto& row : table) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], DisplayWidth(row[i]));
  }
  for (const auto& row : table) {
    std::string line = "  ";
    for (size_t i = 0; i < row.size(); ++i) {
      bool numeric = i >= 2 && i <= 5;  // numbers align on the right, words on the left
      bool last = i + 1 == row.size();
      line += last ? row[i] : (numeric ? PadLeft(row[i], width[i]) : PadRight(row[i], width[i]));
      if (!last) line += "  ";
    }
    o << line << "\n";
  }
}

void FormatConformance(const CompareResult& result, std::ostringstream& o) {
  const CompareSummary& s = result.summary;
  int fixed = 0, skipped = 0, missing = 0, added = 0, changed = 0, regressions = 0;
  for (const auto& r : result.rows) {
    if (r.kind != RowKind::kConformance) continue;
    switch (r.verdict) {
      case Verdict::kRegression:
        ++regressions;
        break;
      case Verdict::kImproved:
        ++fixed;
        break;
      case Verdict::kSkipped:
        ++skipped;
        break;
      case Verdict::kMissing:
        ++missing;
        break;
      case Verdict::kNew:
        ++added;
        break;
      default:
        ++changed;
        break;
    }
  }
  o << "Conformance: " << s.cases_compared << " cases in both reports, " << s.cases_unchanged
    << " unchanged; " << regressions << (regressions == 1 ? " regression, " : " regressions, ")
    << fixed << " fixed, " << skipped << " now skipped, " << missing << " missing, " << added
    << " new\n";

  // Regressions are listed in full: they are what the reader has to act on. The other
  // changes can number in the hundreds (a layer that was not available) and are capped.
  constexpr int kCap = 10;
  auto list = [&](Verdict v, std::string_view label, bool capped) {
    int shown = 0, total = 0;
    for (const auto& r : result.rows) {
      if (r.kind != RowKind::kConformance || r.verdict != v) continue;
      ++total;
      if (capped && shown >= kCap) continue;
      ++shown;
      o << "  " << PadRight(std::string(label), 10) << "  " << Cell(r.id) << "  " << Cell(r.note);
      if (!r.reason.empty()) o << ": " << Cell(r.reason);
      o << "\n";
    }
    if (total > shown) {
      o << "  " << PadRight("", 10) << "  ... and " << (total - shown) << " more " << label
        << " (all of them are in --json-out)\n";
    }
  };
  list(Verdict::kRegression, "REGRESSION", false);
  list(Verdict::kSkipped, "SKIPPED", true);
  list(Verdict::kImproved, "FIXED", true);
  list(Verdict::kOk, "CHANGED", true);
  list(Verdict::kMissing, "MISSING", true);
  list(Verdict::kNew, "NEW", true);
}

}  // namespace

std::string FormatCompareTable(const CompareResult& result) {
  const CompareOptions& opt = result.options;
  std::ostringstream o;
  o << "baseline  " << Cell(opt.baseline_name);
  if (!result.baseline_started_at.empty())
    o << "  (started " << Cell(result.baseline_started_at) << ")";
  o << "\ncurrent   " << Cell(opt.current_name);
  if (!result.current_started_at.empty())
    o << "  (started " << Cell(result.current_started_at) << ")";
  o << "\n";
  // An interrupted run lacks cases and groups: say so before the reader counts them as lost.
  if (!result.baseline_complete) o << "WARNING: the baseline report is incomplete\n";
  if (!result.current_complete) o << "WARNING: the current report is incomplete\n";
  o << "\n";
  FormatPerformance(result, o);
  o << "\n";
  FormatConformance(result, o);
  o << "\n";

  const CompareSummary& s = result.summary;
  if (result.HasRegression()) {
    o << "REGRESSION: " << s.performance_regressions << " performance, "
      << s.conformance_regressions << " conformance (threshold " << Percent(opt.max_regression)
      << ", noise k " << StringPrintf("%g", opt.noise_k) << (opt.strict ? ", strict" : "") << ")\n";
  } else {
    o << "OK: no regression (" << s.groups_compared << " throughput groups, " << s.cases_compared
      << " cases compared; " << s.improved << " improved, " << s.noise << " within noise, "
      << s.skipped << " now skipped, " << s.missing << " missing, " << s.added << " new)\n";
  }
  return o.str();
}

json CompareJson(const CompareResult& result) {
  const CompareOptions& opt = result.options;
  auto number = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
  json rows = json::array();
  for (const auto& r : result.rows) {
    // Rows built in code (the run command's own report) may carry text from the stack that
    // is not UTF-8, which nlohmann refuses to serialize.
    json j = {{"kind", RowKindName(r.kind)},
              {"id", ToValidUtf8(r.id)},
              {"metric", r.metric.empty() ? json(nullptr) : json(r.metric)},
              {"verdict", VerdictName(r.verdict)},
              {"note", ToValidUtf8(r.note)}};
    if (r.kind == RowKind::kPerformance) {
      j["layer"] = ToValidUtf8(r.layer);
      j["arch"] = ToValidUtf8(r.arch);
      j["concurrency"] = r.concurrency;
      j["baseline"] = number(r.baseline);
      j["current"] = number(r.current);
      j["baseline_trials"] = r.baseline_trials;
      j["current_trials"] = r.current_trials;
      j["change"] = number(r.change);
      j["noise"] = number(r.noise);
      j["threshold"] = r.threshold;
      if (!r.metric.empty() && r.metric != "errors") {
        j["better"] = r.higher_is_better ? "higher" : "lower";
      }
    } else {
      j["baseline"] = r.baseline_status.empty() ? json(nullptr) : json(r.baseline_status);
      j["current"] = r.current_status.empty() ? json(nullptr) : json(r.current_status);
      j["change"] = nullptr;
      j["noise"] = nullptr;
      j["threshold"] = nullptr;
      j["reason"] = ToValidUtf8(r.reason);
    }
    rows.push_back(std::move(j));
  }
  json metrics = json::array();
  for (Metric m : opt.metrics) metrics.push_back(MetricName(m));
  const CompareSummary& s = result.summary;
  return {{"schema_version", kCompareSchemaVersion},
          {"kind", "polyarch.compare"},
          {"baseline", ToValidUtf8(opt.baseline_name)},
          {"current", ToValidUtf8(opt.current_name)},
          {"baseline_started_at", ToValidUtf8(result.baseline_started_at)},
          {"current_started_at", ToValidUtf8(result.current_started_at)},
          {"baseline_complete", result.baseline_complete},
          {"current_complete", result.current_complete},
          {"max_regression", opt.max_regression},
          {"noise_k", opt.noise_k},
          {"metrics", metrics},
          {"strict", opt.strict},
          {"rows", rows},
          {"summary",
           {{"verdict", result.HasRegression() ? "regression" : "ok"},
            {"regressions", s.regressions()},
            {"performance_regressions", s.performance_regressions},
            {"conformance_regressions", s.conformance_regressions},
            {"groups_compared", s.groups_compared},
            {"cases_compared", s.cases_compared},
            {"cases_unchanged", s.cases_unchanged},
            {"rows",
             {{"ok", s.ok},
              {"improved", s.improved},
              {"regression", s.regression},
              {"noise", s.noise},
              {"new", s.added},
              {"missing", s.missing},
              {"skipped", s.skipped}}}}}};
}

}  // namespace polyarch
