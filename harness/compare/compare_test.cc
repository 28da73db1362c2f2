#include "harness/compare/compare.h"

#include <gmock/gmock.h>
#include <cmath>

#include <gtest/gtest.h>

#include "harness/core/fs.h"
#include "harness/report/stats.h"

namespace polyarch {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

CaseResult Case(const std::string& name, CaseStatus status, const std::string& reason = "") {
  CaseResult c;
  c.suite = "lifecycle";
  c.layer = "runc";
  c.arch = "s390x";
  c.name = name;
  c.status = status;
  c.reason = reason;
  return c;
}

json Dist(double p50, double p99) {
  Distribution d;
  d.count = 40;
  d.min = p50 * 0.8;
  d.p50 = p50;
  d.p90 = (p50 + p99) / 2;
  d.p99 = p99;
  d.max = p99 * 1.1;
  d.mean = p50;
  return DistributionJson(d);
}

// One throughput row as MeasurementJson writes it (the fields compare reads, and a few it
// does not, so extra fields are known to be ignored).
json Row(const std::string& layer, const std::string& arch, int k, int trial, double rate,
         double e2e_p50, int errors = 0) {
  return {{"layer", layer},
          {"arch", arch},
          {"concurrency", k},
          {"trial", trial},
          {"started", 40},
          {"errors", errors},
          {"timeouts", 0},
          {"wall_s", 40 / rate},
          {"starts_per_s", rate},
          {"latency",
           {{"create", Dist(0.4 * e2e_p50, 0.8 * e2e_p50)},
            {"start", Dist(0.3 * e2e_p50, 0.6 * e2e_p50)},
            {"wait", Dist(0.1 * e2e_p50, 0.2 * e2e_p50)},
            {"delete", Dist(0.2 * e2e_p50, 0.4 * e2e_p50)},
            {"end_to_end", Dist(e2e_p50, 2 * e2e_p50)}}},
          {"cpu_s_per_start", {{"harness", 0.001}, {"runtime_and_shims", 0.01}, {"daemons", 0}}},
          {"first_errors", json::array()}};
}

// `trials` rows of one group whose values are m·(1−d), m, m·(1+d): for three trials the
// sample coefficient of variation is exactly d and the median is exactly m.
void AddTrials(json* rows, const std::string& layer, int k, double rate, double e2e_p50, double d,
               int trials = 3, int errors = 0) {
  for (int i = 0; i < trials; ++i) {
    double f = trials == 1 ? 1.0 : 1.0 + d * (i - 1);
    rows->push_back(Row(layer, "amd64", k, i, rate * f, e2e_p50 * f, i == 0 ? errors : 0));
  }
}

RunReport Report(json throughput = nullptr, std::vector<CaseResult> cases = {}) {
  RunReport r;
  r.complete = true;
  r.started_at = "2024-05-01T02:00:00Z";
  r.cases = std::move(cases);
  if (!throughput.is_null()) r.sections["throughput"] = std::move(throughput);
  return r;
}

CompareResult MustCompare(const RunReport& b, const RunReport& c, CompareOptions o = {}) {
  auto r = CompareReports(b, c, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : CompareResult{};
}

const CompareRow* FindRow(const CompareResult& r, const std::string& id,
                          const std::string& metric) {
  for (const auto& row : r.rows) {
    if (row.id == id && row.metric == metric) return &row;
  }
  return nullptr;
}

// ---- conformance ------------------------------------------------------------------------

TEST(CompareConformanceTest, PassToFailIsARegressionWithTheCurrentReason) {
  RunReport b = Report(
      nullptr, {Case("exit_code_42", CaseStatus::kPass), Case("kill_term", CaseStatus::kPass)});
  RunReport c = Report(nullptr, {Case("exit_code_42", CaseStatus::kFail, "exit code 0, want 42"),
                                 Case("kill_term", CaseStatus::kPass)});
  CompareResult r = MustCompare(b, c);
  EXPECT_TRUE(r.HasRegression());
  EXPECT_EQ(r.summary.conformance_regressions, 1);
  EXPECT_EQ(r.summary.cases_compared, 2);
  EXPECT_EQ(r.summary.cases_unchanged, 1);
  const CompareRow* row = FindRow(r, "lifecycle/runc/s390x/exit_code_42", "status");
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row->verdict, Verdict::kRegression);
  EXPECT_EQ(row->note, "pass -> fail");
  EXPECT_EQ(row->reason, "exit code 0, want 42");
  // Unchanged cases have no row.
  EXPECT_EQ(FindRow(r, "lifecycle/runc/s390x/kill_term", "status"), nullptr);
}

TEST(CompareConformanceTest, ErrorAndAbortedAfterPassAreRegressionsToo) {
  RunReport b = Report(nullptr, {Case("a", CaseStatus::kPass), Case("b", CaseStatus::kPass)});
  RunReport c = Report(nullptr, {Case("a", CaseStatus::kError, "image not imported"),
                                 Case("b", CaseStatus::kAborted, "containerd died")});
  EXPECT_EQ(MustCompare(b, c).summary.conformance_regressions, 2);
}

TEST(CompareConformanceTest, PassToSkipIsReportedButNotARegressionUnlessStrict) {
  RunReport b = Report(nullptr, {Case("pause_freezes", CaseStatus::kPass)});
  RunReport c = Report(nullptr, {Case("pause_freezes", CaseStatus::kSkip, "no pause capability")});
  CompareResult r = MustCompare(b, c);
  EXPECT_FALSE(r.HasRegression());
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(r.rows[0].verdict, Verdict::kSkipped);
  EXPECT_EQ(r.summary.skipped, 1);
  EXPECT_THAT(FormatCompareTable(r), HasSubstr("1 now skipped"));

  CompareOptions strict;
  strict.strict = true;
  CompareResult s = MustCompare(b, c, strict);
  EXPECT_TRUE(s.HasRegression());
  EXPECT_EQ(s.rows[0].verdict, Verdict::kRegression);
  EXPECT_THAT(s.rows[0].note, HasSubstr("--strict"));
}

// The verdicts docs/compare.md tabulates for known deviations: xpass counts as a pass and
// xfail as a failure, so listing a case never hides that it broke; every change has a row.
TEST(CompareConformanceTest, KnownDeviationsFollowTheVerdictTable) {
  struct Change {
    CaseStatus from, to;
    Verdict verdict;
  };
  using S = CaseStatus;
  const std::vector<Change> table = {
      {S::kPass, S::kXfail, Verdict::kRegression}, {S::kXpass, S::kXfail, Verdict::kRegression},
      {S::kXpass, S::kFail, Verdict::kRegression}, {S::kXpass, S::kAborted, Verdict::kRegression},
      {S::kFail, S::kXfail, Verdict::kOk},         {S::kXfail, S::kFail, Verdict::kOk},
      {S::kXfail, S::kError, Verdict::kOk},        {S::kSkip, S::kXfail, Verdict::kOk},
      {S::kXfail, S::kSkip, Verdict::kOk},         {S::kPass, S::kXpass, Verdict::kOk},
      {S::kXpass, S::kPass, Verdict::kOk},         {S::kXfail, S::kPass, Verdict::kImproved},
      {S::kXfail, S::kXpass, Verdict::kImproved},  {S::kFail, S::kXpass, Verdict::kImproved},
      {S::kXpass, S::kSkip, Verdict::kSkipped},
  };
  std::vector<CaseResult> before, after;
  for (size_t i = 0; i < table.size(); ++i) {
    before.push_back(Case("c" + std::to_string(i), table[i].from, "was"));
    after.push_back(Case("c" + std::to_string(i), table[i].to, "is"));
  }
  CompareResult r = MustCompare(Report(nullptr, before), Report(nullptr, after));
  for (size_t i = 0; i < table.size(); ++i) {
    const CompareRow* row = FindRow(r, "lifecycle/runc/s390x/c" + std::to_string(i), "status");
    const std::string change = std::string(CaseStatusName(table[i].from)) + " -> " +
                               std::string(CaseStatusName(table[i].to));
    ASSERT_NE(row, nullptr) << change;
    EXPECT_EQ(row->verdict, table[i].verdict) << change;
    EXPECT_EQ(row->note, change);
  }
  EXPECT_EQ(r.summary.conformance_regressions, 4);
}

TEST(CompareConformanceTest, MissingNewAndFixedCasesAreListed) {
  CaseResult repeat = Case("exit_code_0", CaseStatus::kPass);
  repeat.repeat = 1;
  RunReport b = Report(
      nullptr, {Case("gone", CaseStatus::kPass), Case("was_broken", CaseStatus::kFail, "bug"),
                repeat, Case("still_broken", CaseStatus::kFail, "bug")});
  RunReport c = Report(
      nullptr, {Case("was_broken", CaseStatus::kPass), Case("fresh", CaseStatus::kFail, "new bug"),
                repeat, Case("still_broken", CaseStatus::kError, "harness")});
  CompareResult r = MustCompare(b, c);
  EXPECT_FALSE(r.HasRegression());
  EXPECT_EQ(FindRow(r, "lifecycle/runc/s390x/gone", "status")->verdict, Verdict::kMissing);
  EXPECT_EQ(FindRow(r, "lifecycle/runc/s390x/was_broken", "status")->verdict, Verdict::kImproved);
  EXPECT_EQ(FindRow(r, "lifecycle/runc/s390x/fresh", "status")->verdict, Verdict::kNew);
  // fail -> error: the baseline never vouched for it.
  EXPECT_EQ(FindRow(r, "lifecycle/runc/s390x/still_broken", "status")->verdict, Verdict::kOk);
  // The repeat is matched by its own id (#2) and is unchanged.
  EXPECT_EQ(FindRow(r, "lifecycle/runc/s390x/exit_code_0#2", "status"), nullptr);
  EXPECT_EQ(r.summary.cases_compared, 3);

  CompareOptions strict;
  strict.strict = true;
  CompareResult s = MustCompare(b, c, strict);
  EXPECT_EQ(s.summary.conformance_regressions, 1);  // the missing case; "new" never counts
}

// ---- performance ------------------------------------------------------------------------

TEST(ComparePerformanceTest, BaselineTwiceAsFastFlagsEveryMetric) {
  json base = json::array(), cur = json::array();
  AddTrials(&base, "runc", 1, 28, 35, 0.02);  // doubled starts/s, halved latencies
  AddTrials(&cur, "runc", 1, 14, 70, 0.02);
  CompareOptions o;
  o.metrics = AllMetrics();
  CompareResult r = MustCompare(Report(base), Report(cur), o);
  EXPECT_TRUE(r.HasRegression());
  EXPECT_EQ(r.summary.groups_compared, 1);
  EXPECT_EQ(r.summary.performance_regressions, static_cast<int>(AllMetrics().size()));
  for (Metric m : AllMetrics()) {
    const CompareRow* row = FindRow(r, "runc/amd64/k1", std::string(MetricName(m)));
    ASSERT_NE(row, nullptr) << MetricName(m);
    EXPECT_EQ(row->verdict, Verdict::kRegression) << MetricName(m);
    ASSERT_TRUE(row->change.has_value());
    // Half the rate is 50% worse; twice the latency is 100% worse.
    EXPECT_NEAR(*row->change, m == Metric::kStartsPerS ? 0.5 : 1.0, 1e-9) << MetricName(m);
    EXPECT_NEAR(*row->noise, 0.02 * std::sqrt(2.0), 1e-9);  // both sides' CV, combined
  }
}

TEST(ComparePerformanceTest, HonestReportsWithinNoisePass) {
  json base = json::array(), cur = json::array();
  AddTrials(&base, "runc", 1, 14.0, 70.0, 0.05);
  AddTrials(&base, "crun", 4, 30.0, 120.0, 0.05);
  AddTrials(&cur, "runc", 1, 13.6, 72.5, 0.05);   // 3% fewer starts, 3.6% slower
  AddTrials(&cur, "crun", 4, 31.0, 117.0, 0.05);  // a little better
  CompareResult r = MustCompare(Report(base), Report(cur));
  EXPECT_FALSE(r.HasRegression()) << FormatCompareTable(r);
  EXPECT_EQ(r.summary.groups_compared, 2);
  EXPECT_EQ(r.summary.ok, 6);
  EXPECT_THAT(FormatCompareTable(r), HasSubstr("OK: no regression"));
}

TEST(ComparePerformanceTest, FifteenPercentIsARegressionOnlyWhenNoiseIsSmall) {
  for (double cv : {0.01, 0.10}) {
    json base = json::array(), cur = json::array();
    AddTrials(&base, "containerd", 2, 20.0, 100.0, cv);
    AddTrials(&cur, "containerd", 2, 20.0 * 0.85, 115.0, cv);
    CompareResult r = MustCompare(Report(base), Report(cur));
    for (const char* metric : {"starts_per_s", "e2e_p50", "e2e_p99"}) {
      const CompareRow* row = FindRow(r, "containerd/amd64/k2", metric);
      ASSERT_NE(row, nullptr);
      EXPECT_NEAR(*row->change, 0.15, 1e-9) << metric;
      EXPECT_NEAR(*row->noise, cv * std::sqrt(2.0), 1e-9) << metric;
      if (cv < 0.05) {
        EXPECT_EQ(row->verdict, Verdict::kRegression) << metric;
      } else {
        // 15% > 10% threshold, but 2 × 10% noise = 20% explains it.
        EXPECT_EQ(row->verdict, Verdict::kNoise) << metric;
        EXPECT_THAT(row->note, HasSubstr("within 3 x 14.1% noise"));
      }
    }
    EXPECT_EQ(r.HasRegression(), cv < 0.05);
  }
}

TEST(ComparePerformanceTest, NoiseKScalesTheNoiseBar) {
  json base = json::array(), cur = json::array();
  AddTrials(&base, "runc", 1, 20.0, 100.0, 0.10);
  AddTrials(&cur, "runc", 1, 17.0, 115.0, 0.10);
  CompareOptions o;
  o.noise_k = 1;  // 15% > max(10%, 1 × 10%)
  EXPECT_EQ(MustCompare(Report(base), Report(cur), o).summary.performance_regressions, 3);
}

TEST(ComparePerformanceTest, SingleTrialIsThresholdOnly) {
  json base = json::array(), cur = json::array();
  AddTrials(&base, "runc", 1, 20.0, 100.0, 0, 1);
  AddTrials(&base, "crun", 1, 20.0, 100.0, 0, 1);
  AddTrials(&cur, "runc", 1, 17.0, 115.0, 0, 1);  // 15%: beyond the threshold
  AddTrials(&cur, "crun", 1, 19.0, 105.0, 0, 1);  // 5%: within it
  CompareResult r = MustCompare(Report(base), Report(cur));
  for (const auto& row : r.rows) {
    EXPECT_FALSE(row.noise.has_value());
    EXPECT_EQ(row.note, "noise unknown (1 trial)");
    EXPECT_EQ(row.verdict, row.layer == "runc" ? Verdict::kRegression : Verdict::kOk) << row.id;
  }
  EXPECT_EQ(r.summary.performance_regressions, 3);
  EXPECT_THAT(FormatCompareTable(r), HasSubstr("regression: noise unknown (1 trial)"));
}

TEST(ComparePerformanceTest, OneSidedTrialsUseTheOtherSidesNoise) {
  json base = json::array(), cur = json::array();
  AddTrials(&base, "runc", 1, 20.0, 100.0, 0.10, 3);
  AddTrials(&cur, "runc", 1, 17.0, 115.0, 0, 1);
  CompareResult r = MustCompare(Report(base), Report(cur));
  const CompareRow* row = FindRow(r, "runc/amd64/k1", "e2e_p50");
  ASSERT_NE(row, nullptr);
  EXPECT_NEAR(*row->noise, 0.10 * std::sqrt(2.0), 1e-9);  // the baseline's CV for both sides
  EXPECT_EQ(row->verdict, Verdict::kNoise);
  EXPECT_THAT(row->note, HasSubstr("noise from baseline only"));
}

TEST(ComparePerformanceTest, ImprovementsAreReportedNotCounted) {
  json base = json::array(), cur = json::array();
  AddTrials(&base, "runc", 1, 10.0, 100.0, 0.01);
  AddTrials(&cur, "runc", 1, 20.0, 50.0, 0.01);
  CompareResult r = MustCompare(Report(base), Report(cur));
  EXPECT_FALSE(r.HasRegression());
  EXPECT_EQ(r.summary.improved, 3);
  EXPECT_NEAR(*FindRow(r, "runc/amd64/k1", "starts_per_s")->change, -1.0, 1e-9);
}

TEST(ComparePerformanceTest, ErrorsThatAppearAreARegression) {
  json base = json::array(), cur = json::array();
  AddTrials(&base, "docker", 1, 2.0, 700.0, 0.01);
  AddTrials(&cur, "docker", 1, 2.0, 700.0, 0.01, 3, /*errors=*/2);
  CompareResult r = MustCompare(Report(base), Report(cur));
  EXPECT_TRUE(r.HasRegression());
  const CompareRow* row = FindRow(r, "docker/amd64/k1", "errors");
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row->verdict, Verdict::kRegression);
  EXPECT_EQ(row->note, "errors appeared");
  EXPECT_EQ(*row->current, 2);
  // Errors in both runs are not news.
  CompareResult both = MustCompare(Report(cur), Report(cur));
  EXPECT_FALSE(both.HasRegression());
  EXPECT_EQ(FindRow(both, "docker/amd64/k1", "errors")->verdict, Verdict::kOk);
  // No errors on either side: no errors row at all.
  EXPECT_EQ(FindRow(MustCompare(Report(base), Report(base)), "docker/amd64/k1", "errors"), nullptr);
}

TEST(ComparePerformanceTest, GroupsInOneReportOnlyAreListedNotRegressions) {
  json base = json::array(), cur = json::array();
  AddTrials(&base, "runc", 1, 20.0, 100.0, 0.01);
  AddTrials(&base, "runc", 4, 40.0, 100.0, 0.01);
  AddTrials(&cur, "runc", 1, 20.0, 100.0, 0.01);
  AddTrials(&cur, "crun", 1, 40.0, 50.0, 0.01);
  CompareResult r = MustCompare(Report(base), Report(cur));
  EXPECT_FALSE(r.HasRegression());
  EXPECT_EQ(FindRow(r, "runc/amd64/k4", "")->verdict, Verdict::kMissing);
  EXPECT_EQ(FindRow(r, "crun/amd64/k1", "")->verdict, Verdict::kNew);
  // A report with no throughput section at all: everything the baseline measured is missing.
  EXPECT_EQ(MustCompare(Report(base), Report()).summary.missing, 2);
  EXPECT_EQ(MustCompare(Report(), Report()).rows.size(), 0u);
}

TEST(ComparePerformanceTest, MetricsSelectTheRows) {
  json base = json::array(), cur = json::array();
  AddTrials(&base, "runc", 1, 20.0, 100.0, 0.01);
  AddTrials(&cur, "runc", 1, 20.0, 100.0, 0.01);
  CompareOptions o;
  o.metrics = {Metric::kCreateP50, Metric::kDeleteP50};
  CompareResult r = MustCompare(Report(base), Report(cur), o);
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_EQ(r.rows[0].metric, "create_p50");
  EXPECT_NEAR(*r.rows[0].baseline, 40.0, 1e-9);
  EXPECT_EQ(r.rows[1].metric, "delete_p50");
}

// A report measured on the run cycle against one measured on the lifecycle (or written before
// rows said which): the groups still match, the change is judged as ever, and every row of
// the group says the cycle changed.
TEST(ComparePerformanceTest, AChangeOfCycleIsComparedAndSaid) {
  json base = json::array(), cur = json::array();
  AddTrials(&base, "crun", 1, 20.0, 50.0, 0.01);
  AddTrials(&cur, "crun", 1, 40.0, 25.0, 0.01);
  for (auto& row : cur) row["path"] = "run";
  CompareResult r = MustCompare(Report(base), Report(cur));
  EXPECT_EQ(r.summary.groups_compared, 1);
  const CompareRow* rate = FindRow(r, "crun/amd64/k1", "starts_per_s");
  ASSERT_NE(rate, nullptr);
  EXPECT_EQ(rate->verdict, Verdict::kImproved);
  EXPECT_THAT(rate->note, HasSubstr("cycle lifecycle -> run"));
  for (auto& row : base) row["path"] = "run";
  r = MustCompare(Report(base), Report(cur));
  rate = FindRow(r, "crun/amd64/k1", "starts_per_s");
  ASSERT_NE(rate, nullptr);
  EXPECT_THAT(rate->note, ::testing::Not(HasSubstr("cycle")));
}

TEST(ComparePerformanceTest, MalformedThroughputSectionNamesReportAndField) {
  json good = json::array();
  AddTrials(&good, "runc", 1, 20.0, 100.0, 0.01);
  struct Bad {
    json section;
    std::string field;
  };
  json no_k = good;
  no_k[1].erase("concurrency");
  json string_rate = good;
  string_rate[2]["starts_per_s"] = "fast";
  json bad_dist = good;
  bad_dist[0]["latency"]["end_to_end"] = "slow";
  json no_p99 = good;
  no_p99[0]["latency"]["end_to_end"].erase("p99");
  json twice = good;
  twice.push_back(good[0]);
  json bad_path = good;
  bad_path[1]["path"] = "fast";
  json mixed_path = good;
  mixed_path[2]["path"] = "run";
  for (const Bad& bad : {Bad{json::object(), "'sections.throughput' is not an array"},
                         Bad{json::array({1}), "sections.throughput[0]' is not an object"},
                         Bad{no_k, "sections.throughput[1].concurrency"},
                         Bad{string_rate, "sections.throughput[2].starts_per_s"},
                         Bad{bad_dist, "sections.throughput[0].latency.end_to_end"},
                         Bad{no_p99, "sections.throughput[0].latency.end_to_end.p99"},
                         Bad{twice, "sections.throughput[3].trial' repeats trial 0"},
                         Bad{bad_path, "sections.throughput[1].path' is not \"run\""},
                         Bad{mixed_path,
                             "sections.throughput[2].path' differs from the other "
                             "trials of runc/amd64/k1"}}) {
    CompareOptions o;
    o.current_name = "/tmp/current.json";
    auto r = CompareReports(Report(good), Report(bad.section), o);
    ASSERT_FALSE(r.ok()) << bad.field;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr("/tmp/current.json: field '"));
    EXPECT_THAT(r.status().message(), HasSubstr(bad.field));
  }
}

// ---- options ----------------------------------------------------------------------------

TEST(CompareOptionsTest, MetricListParsing) {
  auto d = ParseMetricList("starts_per_s,e2e_p50,e2e_p99");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, DefaultMetrics());
  auto spaced = ParseMetricList(" wait_p50 , create_p50,wait_p50,");
  ASSERT_TRUE(spaced.ok());
  EXPECT_EQ(*spaced, (std::vector<Metric>{Metric::kWaitP50, Metric::kCreateP50}));
  auto bad = ParseMetricList("starts_per_s,p95");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("unknown metric 'p95'"));
  for (Metric m : AllMetrics()) {
    EXPECT_THAT(bad.status().message(), HasSubstr(std::string(MetricName(m))));
  }
  EXPECT_FALSE(ParseMetricList("").ok());
  EXPECT_FALSE(ParseMetricList(" , ").ok());
}

TEST(CompareOptionsTest, ThresholdParsing) {
  EXPECT_DOUBLE_EQ(*ParseThreshold("10%"), 0.10);
  EXPECT_DOUBLE_EQ(*ParseThreshold("0.1"), 0.10);
  EXPECT_DOUBLE_EQ(*ParseThreshold("2.5%"), 0.025);
  EXPECT_DOUBLE_EQ(*ParseThreshold("150%"), 1.5);
  EXPECT_DOUBLE_EQ(*ParseThreshold("0"), 0);
  for (const char* bad : {"", "%", "ten", "10%%", "-5%", "0.1x", "nan", "inf%"}) {
    auto r = ParseThreshold(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
  }
  auto ambiguous = ParseThreshold("10");
  ASSERT_FALSE(ambiguous.ok());
  EXPECT_THAT(ambiguous.status().message(), HasSubstr("10%"));
}

TEST(CompareOptionsTest, UnusableOptionsAreRefused) {
  CompareOptions o;
  o.metrics.clear();
  EXPECT_EQ(CompareReports(Report(), Report(), o).status().code(), Code::kInvalidArgument);
  o = {};
  o.noise_k = -1;
  EXPECT_EQ(CompareReports(Report(), Report(), o).status().code(), Code::kInvalidArgument);
}

// ---- files ------------------------------------------------------------------------------

TEST(CompareFilesTest, FilesThatAreNotReportsAreRefusedNamingFileAndField) {
  auto dir = TempDir::Create("polyarch-compare-test-");
  ASSERT_TRUE(dir.ok());
  struct Bad {
    std::string name, content, expect;
  };
  json no_suite = ReportToJson(Report(nullptr, {Case("a", CaseStatus::kPass)}));
  no_suite["cases"][0].erase("suite");
  json compare_doc = {{"schema_version", 1}, {"kind", "polyarch.compare"}, {"rows", json::array()}};
  json no_cases = ReportToJson(Report());
  no_cases.erase("cases");
  for (const Bad& bad : {
           Bad{"garbage.json", "{\"kind\": ", "not JSON"},
           Bad{"compare.json", compare_doc.dump(), "kind is not polyarch.report"},
           Bad{"array.json", "[1, 2]", "not a JSON object"},
           Bad{"nocases.json", no_cases.dump(), "cases"},
           Bad{"nosuite.json", no_suite.dump(), "cases[0]: case: field 'suite'"},
       }) {
    std::string path = dir->path() + "/" + bad.name;
    ASSERT_TRUE(WriteFileAtomic(path, bad.content).ok());
    auto r = LoadReportFile(path);
    ASSERT_FALSE(r.ok()) << bad.name;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad.name;
    EXPECT_THAT(r.status().message(), HasSubstr(path)) << bad.name;
    EXPECT_THAT(r.status().message(), HasSubstr(bad.expect)) << bad.name;
  }
  auto missing = LoadReportFile(dir->path() + "/absent.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(missing.status().message(), HasSubstr(dir->path() + "/absent.json"));

  std::string good = dir->path() + "/good.json";
  ASSERT_TRUE(
      WriteFileAtomic(good, ReportToJson(Report(nullptr, {Case("a", CaseStatus::kPass)})).dump())
          .ok());
  auto ok = LoadReportFile(good);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->cases.size(), 1u);
}

// ---- output -----------------------------------------------------------------------------

TEST(CompareOutputTest, TableColumnsAlignAndVerdictLineIsLast) {
  json base = json::array(), cur = json::array();
  AddTrials(&base, "runc", 1, 14.0, 70.0, 0.02);
  AddTrials(&base, "containerd", 10, 9.5, 240.0, 0.02);
  AddTrials(&cur, "runc", 1, 14.1, 71.0, 0.02);
  AddTrials(&cur, "containerd", 10, 7.0, 330.0, 0.02);
  RunReport b = Report(base, {Case("start_runs_process", CaseStatus::kPass)});
  RunReport c =
      Report(cur, {Case("start_runs_process", CaseStatus::kFail, "state is \"stopped\"\x1b[2J")});
  CompareResult r = MustCompare(b, c);
  std::string table = FormatCompareTable(r);
  std::vector<std::string> lines;
  for (size_t s = 0, e; s < table.size(); s = e + 1) {
    e = table.find('\n', s);
    lines.push_back(table.substr(s, e - s));
  }
  // Every table line has METRIC and VERDICT starting in the same column as the header's.
  size_t header = 0;
  while (header < lines.size() && lines[header].find("LAYER/ARCH/K") == std::string::npos) {
    ++header;
  }
  ASSERT_LT(header, lines.size()) << table;
  size_t metric_col = lines[header].find("METRIC");
  size_t verdict_col = lines[header].find("VERDICT");
  for (size_t i = header + 1; i < header + 7; ++i) {
    ASSERT_LT(i, lines.size());
    EXPECT_NE(lines[i].substr(metric_col, 1), " ") << lines[i];
    EXPECT_EQ(lines[i].substr(metric_col - 1, 1), " ") << lines[i];
    EXPECT_EQ(lines[i].substr(verdict_col - 2, 2), "  ") << lines[i];
    EXPECT_NE(lines[i].substr(verdict_col, 1), " ") << lines[i];
  }
  EXPECT_THAT(table, HasSubstr("containerd/amd64/k10"));
  EXPECT_THAT(table, HasSubstr("+26.3%"));  // 9.5 -> 7.0 starts/s
  EXPECT_THAT(table,
              HasSubstr("REGRESSION  lifecycle/runc/s390x/start_runs_process  pass -> fail"));
  EXPECT_EQ(table.find('\x1b'), std::string::npos) << "terminal escapes must not pass through";
  EXPECT_EQ(lines.back().rfind("REGRESSION: 3 performance, 1 conformance", 0), 0u) << table;
}

TEST(CompareOutputTest, JsonDocumentListsEveryRowAndTotals) {
  json base = json::array(), cur = json::array();
  AddTrials(&base, "runc", 1, 14.0, 70.0, 0, 1);
  AddTrials(&cur, "runc", 1, 10.0, 70.0, 0, 1);
  RunReport b = Report(base, {Case("a", CaseStatus::kPass)});
  RunReport c = Report(cur, {Case("a", CaseStatus::kSkip, "no \xff pause")});
  CompareOptions o;
  o.baseline_name = "nightly/1/report.json";
  o.current_name = "nightly/2/report.json";
  json j = CompareJson(MustCompare(b, c, o));
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(j["kind"], "polyarch.compare");
  EXPECT_EQ(j["baseline"], "nightly/1/report.json");
  EXPECT_EQ(j["current"], "nightly/2/report.json");
  EXPECT_DOUBLE_EQ(j["max_regression"].get<double>(), 0.1);
  EXPECT_EQ(j["metrics"], json({"starts_per_s", "e2e_p50", "e2e_p99"}));
  ASSERT_EQ(j["rows"].size(), 4u);
  const json& rate = j["rows"][0];
  EXPECT_EQ(rate["kind"], "performance");
  EXPECT_EQ(rate["id"], "runc/amd64/k1");
  EXPECT_EQ(rate["metric"], "starts_per_s");
  EXPECT_EQ(rate["better"], "higher");
  EXPECT_DOUBLE_EQ(rate["baseline"].get<double>(), 14.0);
  EXPECT_DOUBLE_EQ(rate["current"].get<double>(), 10.0);
  EXPECT_NEAR(rate["change"].get<double>(), 4.0 / 14.0, 1e-12);
  EXPECT_TRUE(rate["noise"].is_null());
  EXPECT_EQ(rate["verdict"], "regression");
  EXPECT_EQ(rate["note"], "noise unknown (1 trial)");
  const json& cas = j["rows"][3];
  EXPECT_EQ(cas["kind"], "conformance");
  EXPECT_EQ(cas["baseline"], "pass");
  EXPECT_EQ(cas["current"], "skip");
  EXPECT_EQ(cas["verdict"], "skipped");
  EXPECT_EQ(j["summary"]["verdict"], "regression");
  EXPECT_EQ(j["summary"]["performance_regressions"], 1);
  EXPECT_EQ(j["summary"]["conformance_regressions"], 0);
  EXPECT_EQ(j["summary"]["rows"]["skipped"], 1);
  EXPECT_EQ(j["summary"]["rows"]["ok"], 2);
  // Invalid UTF-8 from the stack must not make the document unserializable.
  EXPECT_NO_THROW(j.dump());
}

}  // namespace
}  // namespace polyarch
