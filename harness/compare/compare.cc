#include "harness/compare/compare.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "harness/core/fs.h"
#include "harness/core/json_int.h"
#include "harness/core/strings.h"
#include "harness/report/stats.h"
#include "harness/report/text.h"

namespace polyarch {

using nlohmann::json;

namespace {

struct MetricInfo {
  Metric metric;
  std::string_view name;
  std::string_view op;    // latency operation; "" for starts_per_s
  std::string_view stat;  // "p50" / "p99"; "" for starts_per_s
};

constexpr MetricInfo kMetrics[] = {
    {Metric::kStartsPerS, "starts_per_s", "", ""},
    {Metric::kE2eP50, "e2e_p50", "end_to_end", "p50"},
    {Metric::kE2eP99, "e2e_p99", "end_to_end", "p99"},
    {Metric::kCreateP50, "create_p50", "create", "p50"},
    {Metric::kStartP50, "start_p50", "start", "p50"},
    {Metric::kWaitP50, "wait_p50", "wait", "p50"},
    {Metric::kDeleteP50, "delete_p50", "delete", "p50"},
};

const MetricInfo& Info(Metric m) {
  for (const auto& i : kMetrics) {
    if (i.metric == m) return i;
  }
  assert(false && "every Metric has a row in kMetrics");
  return kMetrics[0];
}

// ---------------------------------------------------------------------------------------
// The throughput section, read back. Reports come from files a user names, so every field
// compare relies on is checked and a bad one is named, rather than silently read as 0.

struct Trial {
  int index = 0;  // the row's "trial"
  int errors = 0;
  std::map<Metric, double> values;  // only the metrics this trial has data for
};

struct Group {
  std::string layer, arch;
  std::string path;  // the cycle measured: "run" or "lifecycle"
  int concurrency = 0;
  std::vector<Trial> trials;
  int errors = 0;

  std::string Id() const { return layer + "/" + arch + "/k" + std::to_string(concurrency); }
  std::vector<double> Values(Metric m) const {
    std::vector<double> v;
    for (const auto& t : trials) {
      if (auto it = t.values.find(m); it != t.values.end()) v.push_back(it->second);
    }
    return v;
  }
};

using GroupKey = std::tuple<std::string, std::string, int>;

struct Groups {
  std::vector<Group> list;  // in first-seen order
  std::map<GroupKey, size_t> index;
};

Result<Groups> ReadThroughput(const RunReport& report, const std::string& name,
                              const std::vector<Metric>& metrics) {
  Groups out;
  if (report.sections.is_null()) return out;
  if (!report.sections.is_object()) {
    return InvalidArgument(name + ": field 'sections' is not an object");
  }
  auto section = report.sections.find("throughput");
  if (section == report.sections.end() || section->is_null()) return out;
  if (!section->is_array()) {
    return InvalidArgument(name + ": field 'sections.throughput' is not an array");
  }
  for (size_t i = 0; i < section->size(); ++i) {
    const json& row = (*section)[i];
    std::string where = "sections.throughput[" + std::to_string(i) + "]";
    auto bad = [&](const std::string& field, const std::string& what) {
      return InvalidArgument(name + ": field '" + where + (field.empty() ? "" : "." + field) +
                             "' " + what);
    };
    if (!row.is_object()) return bad("", "is not an object");
    for (const char* f : {"layer", "arch"}) {
      auto it = row.find(f);
      if (it == row.end() || !it->is_string() || it->get<std::string>().empty()) {
        return bad(f, "is missing or not a non-empty string");
      }
    }
    auto int_field = [&](const char* f, int min, int fallback, bool required) -> Result<int> {
      auto it = row.find(f);
      if (it == row.end()) {
        if (required) return bad(f, "is missing");
        return fallback;
      }
      std::optional<int> v = JsonInteger<int>(*it);
      if (!v || *v < min || *v > 1'000'000'000) {
        return bad(f, "is not an integer >= " + std::to_string(min));
      }
      return *v;
    };
    PA_ASSIGN_OR_RETURN(int concurrency, int_field("concurrency", 1, 0, true));
    // Reports from before the run cycle existed measured the lifecycle.
    std::string path = "lifecycle";
    if (auto it = row.find("path"); it != row.end()) {
      if (!it->is_string() || (*it != "run" && *it != "lifecycle")) {
        return bad("path", "is not \"run\" or \"lifecycle\"");
      }
      path = it->get<std::string>();
    }
    PA_ASSIGN_OR_RETURN(int trial_index, int_field("trial", 0, 0, false));
    PA_ASSIGN_OR_RETURN(int errors, int_field("errors", 0, 0, false));

    Trial trial;
    trial.index = trial_index;
    trial.errors = errors;
    auto rate = row.find("starts_per_s");
    if (rate == row.end() || !rate->is_number() || !std::isfinite(rate->get<double>()) ||
        rate->get<double>() < 0) {
      return bad("starts_per_s", "is missing or not a number >= 0");
    }
    auto latency = row.find("latency");
    if (latency == row.end() || !latency->is_object()) {
      return bad("latency", "is missing or not an object");
    }
    for (Metric m : metrics) {
      const MetricInfo& info = Info(m);
      if (info.op.empty()) {
        trial.values[m] = rate->get<double>();
        continue;
      }
      auto dist = latency->find(std::string(info.op));
      if (dist == latency->end()) continue;  // this trial did not time that operation
      std::string field = "latency." + std::string(info.op);
      Distribution d;
      if (!DistributionFromJson(*dist, &d)) {
        return bad(field, "is not a distribution (an object with an integer count >= 0)");
      }
      if (d.count <= 0) continue;  // nothing was timed (e.g. every cycle failed)
      auto stat = dist->find(std::string(info.stat));
      if (stat == dist->end() || !stat->is_number() || !std::isfinite(stat->get<double>())) {
        return bad(field + "." + std::string(info.stat), "is missing or not a number");
      }
      trial.values[m] = stat->get<double>();
    }

    GroupKey key{row["layer"].get<std::string>(), row["arch"].get<std::string>(), concurrency};
    auto [it, inserted] = out.index.emplace(key, out.list.size());
    if (inserted) {
      Group g;
      g.layer = std::get<0>(key);
      g.arch = std::get<1>(key);
      g.concurrency = concurrency;
      g.path = path;
      out.list.push_back(std::move(g));
    }
    Group& g = out.list[it->second];
    if (g.path != path) return bad("path", "differs from the other trials of " + g.Id());
    for (const auto& t : g.trials) {
      if (t.index == trial_index) {
        // Two rows claiming the same trial would be double-counted in the median and make
        // the noise estimate meaningless: the file is not what polyarch writes.
        return bad("trial", "repeats trial " + std::to_string(trial_index) + " of " + g.Id());
      }
    }
    g.errors += errors;
    g.trials.push_back(std::move(trial));
  }
  return out;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return Percentile(v, 50);
}

// The coefficient of variation across trials; nullopt with fewer than two trials, where
// there is no spread to measure.
std::optional<double> TrialCv(const std::vector<double>& v) {
  if (v.size() < 2) return std::nullopt;
  return ComputeDistribution(v).cv;
}

CompareRow PerformanceRow(const Group& g) {
  CompareRow r;
  r.kind = RowKind::kPerformance;
  r.id = g.Id();
  r.layer = g.layer;
  r.arch = g.arch;
  r.concurrency = g.concurrency;
  return r;
}

CompareRow CompareMetric(const Group& base, const Group& cur, Metric m, const CompareOptions& o) {
  CompareRow r = PerformanceRow(base);
  r.metric = std::string(MetricName(m));
  r.higher_is_better = HigherIsBetter(m);
  r.threshold = o.max_regression;
  std::vector<double> bv = base.Values(m), cv = cur.Values(m);
  r.baseline_trials = static_cast<int>(bv.size());
  r.current_trials = static_cast<int>(cv.size());
  if (!bv.empty()) r.baseline = Median(bv);
  if (!cv.empty()) r.current = Median(cv);
  if (bv.empty() && cv.empty()) {
    r.verdict = Verdict::kOk;
    r.note = "no data in either report";
    return r;
  }
  if (cv.empty()) {
    r.verdict = Verdict::kMissing;
    r.note = "no data in " + o.current_name;
    return r;
  }
  if (bv.empty()) {
    r.verdict = Verdict::kNew;
    r.note = "no data in " + o.baseline_name;
    return r;
  }

  // The change is a difference of two noisy measurements, so its relative noise is the
  // root sum of squares of both sides' trial-to-trial CVs. A side with one trial has no
  // measurable spread: the other side's CV stands in for it (the same machine's noise).
  std::optional<double> bn = TrialCv(bv), cn = TrialCv(cv);
  if (bn || cn) {
    double x = bn.value_or(*cn), y = cn.value_or(*bn);
    r.noise = std::sqrt(x * x + y * y);
  }

  double b = *r.baseline, c = *r.current;
  if (b == 0) {
    r.verdict = Verdict::kOk;
    r.note = c == 0 ? "" : "baseline is 0: no relative change";
    if (c == 0) r.change = 0;
    return r;
  }
  double change = r.higher_is_better ? (b - c) / b : (c - b) / b;
  r.change = change;

  double noise_bar = o.noise_k * r.noise.value_or(0);
  double magnitude = std::fabs(change);
  if (magnitude <= o.max_regression) {
    r.verdict = Verdict::kOk;
  } else if (magnitude <= noise_bar) {
    r.verdict = Verdict::kNoise;
    r.note = "within " + StringPrintf("%g x %.1f%%", o.noise_k, *r.noise * 100) + " noise";
  } else {
    r.verdict = change > 0 ? Verdict::kRegression : Verdict::kImproved;
  }
  if (!r.noise) {
    r.note = "noise unknown (1 trial)";
  } else if (!bn || !cn) {
    r.note += std::string(r.note.empty() ? "" : "; ") + "noise from " +
              (bn ? o.baseline_name : o.current_name) + " only (1 trial in " +
              (bn ? o.current_name : o.baseline_name) + ")";
  }
  return r;
}

// Cycles that failed are a regression when the baseline had none, whatever the timings say:
// a layer that now drops one start in forty has broken something a faster median hides.
std::optional<CompareRow> CompareErrors(const Group& base, const Group& cur,
                                        const CompareOptions& o) {
  if (base.errors == 0 && cur.errors == 0) return std::nullopt;
  CompareRow r = PerformanceRow(base);
  r.metric = "errors";
  r.threshold = o.max_regression;
  r.baseline = base.errors;
  r.current = cur.errors;
  r.baseline_trials = static_cast<int>(base.trials.size());
  r.current_trials = static_cast<int>(cur.trials.size());
  if (base.errors == 0) {
    r.verdict = Verdict::kRegression;
    r.note = "errors appeared";
  } else if (cur.errors == 0) {
    r.verdict = Verdict::kImproved;
    r.note = "errors gone";
  } else {
    r.verdict = Verdict::kOk;
    r.note = "errors in both";
  }
  return r;
}

// xpass is a pass: the stack did what the case requires (only the expectation is stale).
bool Passed(CaseStatus s) { return s == CaseStatus::kPass || s == CaseStatus::kXpass; }

// xfail is a failure, known or not: a case that passed and now fails as a listed deviation
// has regressed all the same, and listing it must not hide that.
bool IsBroken(CaseStatus s) {
  return s == CaseStatus::kFail || s == CaseStatus::kError || s == CaseStatus::kAborted ||
         s == CaseStatus::kXfail;
}

std::string Transition(const std::string& from, const std::string& to) {
  return from + " -> " + to;
}

void CompareCases(const RunReport& baseline, const RunReport& current, const CompareOptions& o,
                  CompareResult* out) {
  std::map<std::string, const CaseResult*> now;
  for (const auto& c : current.cases) now.emplace(c.Id(), &c);
  std::set<std::string> seen;
  for (const auto& b : baseline.cases) {
    std::string id = b.Id();
    if (!seen.insert(id).second) continue;  // a repeated id: the first one stands
    CompareRow r;
    r.kind = RowKind::kConformance;
    r.id = id;
    r.metric = "status";
    r.baseline_status = std::string(CaseStatusName(b.status));
    auto it = now.find(id);
    if (it == now.end()) {
      r.verdict = o.strict ? Verdict::kRegression : Verdict::kMissing;
      r.note = "missing in " + o.current_name + (o.strict ? " (--strict)" : "");
      r.reason = b.reason;
      out->rows.push_back(std::move(r));
      continue;
    }
    const CaseResult& c = *it->second;
    ++out->summary.cases_compared;
    if (c.status == b.status) {
      ++out->summary.cases_unchanged;
      continue;
    }
    r.current_status = std::string(CaseStatusName(c.status));
    r.note = Transition(r.baseline_status, r.current_status);
    r.reason = c.reason;
    // docs/compare.md has the whole table.
    if (Passed(b.status) && IsBroken(c.status)) {
      r.verdict = Verdict::kRegression;
    } else if (Passed(b.status) && c.status == CaseStatus::kSkip) {
      r.verdict = o.strict ? Verdict::kRegression : Verdict::kSkipped;
      if (o.strict) r.note += " (--strict)";
    } else if (!Passed(b.status) && Passed(c.status)) {
      r.verdict = Verdict::kImproved;
    } else {
      // Between two statuses that are not pass (fail -> error, skip -> fail, fail -> xfail):
      // the baseline did not vouch for the case, so there is nothing it regressed from; or
      // between pass and xpass, both passes (the row shows an expectation went stale).
      r.verdict = Verdict::kOk;
    }
    out->rows.push_back(std::move(r));
  }
  std::set<std::string> in_baseline;
  for (const auto& b : baseline.cases) in_baseline.insert(b.Id());
  std::set<std::string> listed;
  for (const auto& c : current.cases) {
    std::string id = c.Id();
    if (in_baseline.count(id) || !listed.insert(id).second) continue;
    CompareRow r;
    r.kind = RowKind::kConformance;
    r.id = id;
    r.metric = "status";
    r.current_status = std::string(CaseStatusName(c.status));
    r.reason = c.reason;
    r.verdict = Verdict::kNew;
    r.note = "new (" + r.current_status + ")";
    out->rows.push_back(std::move(r));
  }
}

void Count(CompareResult* out) {
  CompareSummary& s = out->summary;
  for (const auto& r : out->rows) {
    switch (r.verdict) {
      case Verdict::kOk:
        ++s.ok;
        break;
      case Verdict::kImproved:
        ++s.improved;
        break;
      case Verdict::kRegression:
        ++s.regression;
        ++(r.kind == RowKind::kPerformance ? s.performance_regressions : s.conformance_regressions);
        break;
      case Verdict::kNoise:
        ++s.noise;
        break;
      case Verdict::kNew:
        ++s.added;
        break;
      case Verdict::kMissing:
        ++s.missing;
        break;
      case Verdict::kSkipped:
        ++s.skipped;
        break;
    }
  }
}

}  // namespace

std::string_view MetricName(Metric m) { return Info(m).name; }

bool HigherIsBetter(Metric m) { return m == Metric::kStartsPerS; }

const std::vector<Metric>& AllMetrics() {
  static const std::vector<Metric> kAll = [] {
    std::vector<Metric> v;
    for (const auto& i : kMetrics) v.push_back(i.metric);
    return v;
  }();
  return kAll;
}

std::vector<Metric> DefaultMetrics() {
  return {Metric::kStartsPerS, Metric::kE2eP50, Metric::kE2eP99};
}

Result<std::vector<Metric>> ParseMetricList(std::string_view list) {
  std::vector<Metric> out;
  std::string known;
  for (const auto& i : kMetrics) known += (known.empty() ? "" : ", ") + std::string(i.name);
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view name = Trim(list.substr(start, comma - start));
    start = comma + 1;
    if (name.empty()) continue;
    const MetricInfo* found = nullptr;
    for (const auto& i : kMetrics) {
      if (i.name == name) found = &i;
    }
    if (found == nullptr) {
      return InvalidArgument("unknown metric '" + std::string(name) + "' (known: " + known + ")");
    }
    if (std::find(out.begin(), out.end(), found->metric) == out.end()) {
      out.push_back(found->metric);
    }
  }
  if (out.empty()) return InvalidArgument("no metric given (known: " + known + ")");
  return out;
}

Result<double> ParseThreshold(std::string_view text) {
  std::string s(Trim(text));
  bool percent = !s.empty() && s.back() == '%';
  if (percent) s.pop_back();
  auto refuse = [&] {
    return InvalidArgument("threshold '" + std::string(text) +
                           "' is not a fraction or a percentage (write 10% or 0.1)");
  };
  if (s.empty()) return refuse();
  size_t used = 0;
  double v = 0;
  // std::stod throws; this is the adapter boundary where that is turned into a Status.
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    return refuse();
  }
  if (used != s.size() || !std::isfinite(v) || v < 0) return refuse();
  if (percent) return v / 100;
  if (v > 1) {
    return InvalidArgument("threshold '" + std::string(text) + "' is ambiguous: write " +
                           StringPrintf("%g", v) + "% for a percentage, or a fraction up to 1");
  }
  return v;
}

std::string_view RowKindName(RowKind k) {
  return k == RowKind::kConformance ? "conformance" : "performance";
}

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kOk:
      return "ok";
    case Verdict::kImproved:
      return "improved";
    case Verdict::kRegression:
      return "regression";
    case Verdict::kNoise:
      return "noise";
    case Verdict::kNew:
      return "new";
    case Verdict::kMissing:
      return "missing";
    case Verdict::kSkipped:
      return "skipped";
  }
  return "ok";
}

Result<CompareResult> CompareReports(const RunReport& baseline, const RunReport& current,
                                     const CompareOptions& options) {
  if (!std::isfinite(options.max_regression) || options.max_regression < 0) {
    return InvalidArgument("max regression must be a fraction >= 0");
  }
  if (!std::isfinite(options.noise_k) || options.noise_k < 0) {
    return InvalidArgument("noise k must be a number >= 0");
  }
  if (options.metrics.empty()) return InvalidArgument("no metric to compare");

  PA_ASSIGN_OR_RETURN(Groups base,
                      ReadThroughput(baseline, options.baseline_name, options.metrics));
  PA_ASSIGN_OR_RETURN(Groups cur, ReadThroughput(current, options.current_name, options.metrics));

  CompareResult out;
  out.options = options;
  out.baseline_complete = baseline.complete;
  out.current_complete = current.complete;
  out.baseline_started_at = baseline.started_at;
  out.current_started_at = current.started_at;

  for (const Group& b : base.list) {
    auto it = cur.index.find({b.layer, b.arch, b.concurrency});
    if (it == cur.index.end()) {
      CompareRow r = PerformanceRow(b);
      r.threshold = options.max_regression;
      r.baseline_trials = static_cast<int>(b.trials.size());
      r.verdict = options.strict ? Verdict::kRegression : Verdict::kMissing;
      r.note = "no throughput in " + options.current_name + (options.strict ? " (--strict)" : "");
      out.rows.push_back(std::move(r));
      continue;
    }
    const Group& c = cur.list[it->second];
    ++out.summary.groups_compared;
    for (Metric m : options.metrics) {
      CompareRow r = CompareMetric(b, c, m, options);
      // Another cycle measures other work: the change is real, and this is why.
      if (b.path != c.path) {
        r.note = "cycle " + Transition(b.path, c.path) + (r.note.empty() ? "" : "; " + r.note);
      }
      out.rows.push_back(std::move(r));
    }
    if (auto e = CompareErrors(b, c, options)) out.rows.push_back(std::move(*e));
  }
  for (const Group& c : cur.list) {
    if (base.index.count({c.layer, c.arch, c.concurrency})) continue;
    CompareRow r = PerformanceRow(c);
    r.threshold = options.max_regression;
    r.current_trials = static_cast<int>(c.trials.size());
    r.verdict = Verdict::kNew;
    r.note = "no throughput in " + options.baseline_name;
    out.rows.push_back(std::move(r));
  }

  CompareCases(baseline, current, options, &out);
  Count(&out);
  return out;
}

Result<RunReport> LoadReportFile(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return InvalidArgument("cannot read report: " + text.status().message());
  json j;
  // nlohmann reports where the JSON breaks only through its exception; it stays here.
  try {
    j = json::parse(*text);
  } catch (const json::parse_error& e) {
    return InvalidArgument(path + ": not JSON (parse error at byte " + std::to_string(e.byte) +
                           ")");
  }
  auto report = ReportFromJson(j);
  if (!report.ok())
    return InvalidArgument(path + ": not a polyarch report: " + report.status().message());
  return std::move(report).value();
}

}  // namespace polyarch
