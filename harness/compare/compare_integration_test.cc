// `polyarch compare` as nightly CI runs it: two report files in, a table and an exit code out.
// Needs no root; it is an integration test because it runs the built binary.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli_runner.h"
#include "harness/core/fs.h"
#include "harness/report/result.h"
#include "harness/report/stats.h"

namespace polyarch {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using testing::RunPolyarch;

json Dist(double p50) {
  Distribution d;
  d.count = 40;
  d.min = p50 * 0.9;
  d.p50 = p50;
  d.p90 = p50 * 1.3;
  d.p99 = p50 * 1.6;
  d.max = p50 * 1.7;
  d.mean = p50;
  return DistributionJson(d);
}

// A report with three throughput trials of runc at K=1 (CV 2%) whose median start rate and
// latency are scaled by `speed`, and one lifecycle case with the given status.
RunReport MakeReport(double speed, CaseStatus status) {
  RunReport r;
  r.complete = true;
  r.started_at = "2024-05-01T02:00:00Z";
  CaseResult c;
  c.suite = "lifecycle";
  c.layer = "runc";
  c.arch = "amd64";
  c.name = "exit_code_42";
  c.status = status;
  if (status != CaseStatus::kPass) c.reason = "exit code 0, want 42";
  r.cases.push_back(c);
  json rows = json::array();
  for (int trial = 0; trial < 3; ++trial) {
    double f = 1.0 + 0.02 * (trial - 1);
    double e2e = 70.0 * f / speed;
    rows.push_back({{"layer", "runc"},
                    {"arch", "amd64"},
                    {"concurrency", 1},
                    {"trial", trial},
                    {"started", 40},
                    {"errors", 0},
                    {"timeouts", 0},
                    {"wall_s", 3.0},
                    {"starts_per_s", 14.0 * f * speed},
                    {"latency",
                     {{"create", Dist(e2e * 0.4)},
                      {"start", Dist(e2e * 0.3)},
                      {"wait", Dist(e2e * 0.1)},
                      {"delete", Dist(e2e * 0.2)},
                      {"end_to_end", Dist(e2e)}}}});
  }
  r.sections["throughput"] = rows;
  return r;
}

class CompareCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("polyarch-compare-cli-");
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    dir_ = std::make_unique<TempDir>(std::move(*d));
  }
  std::string Write(const std::string& name, const std::string& content) {
    std::string path = dir_->path() + "/" + name;
    EXPECT_TRUE(WriteFileAtomic(path, content).ok());
    return path;
  }
  std::string WriteReport(const std::string& name, const RunReport& r) {
    return Write(name, ReportToJson(r).dump(2));
  }

  std::unique_ptr<TempDir> dir_;
};

TEST_F(CompareCliTest, SameRunExitsZero) {
  std::string a = WriteReport("a.json", MakeReport(1.0, CaseStatus::kPass));
  std::string b = WriteReport("b.json", MakeReport(0.98, CaseStatus::kPass));
  auto r = RunPolyarch({"compare", a, b});
  EXPECT_EQ(r.exit_code, 0) << r.out.Text() << r.err.Text();
  EXPECT_THAT(r.out.Text(), HasSubstr("LAYER/ARCH/K"));
  EXPECT_THAT(r.out.Text(), HasSubstr("runc/amd64/k1"));
  EXPECT_THAT(r.out.Text(), HasSubstr("OK: no regression"));
}

TEST_F(CompareCliTest, RegressionExitsOneAndWritesTheJsonDocument) {
  std::string a = WriteReport("a.json", MakeReport(2.0, CaseStatus::kPass));
  std::string b = WriteReport("b.json", MakeReport(1.0, CaseStatus::kFail));
  std::string out = dir_->path() + "/compare.json";
  auto r = RunPolyarch({"compare", a, b, "--json-out", out, "--metric", "starts_per_s,wait_p50"});
  EXPECT_EQ(r.exit_code, 1) << r.out.Text() << r.err.Text();
  EXPECT_THAT(r.out.Text(), HasSubstr("REGRESSION: 2 performance, 1 conformance"));
  EXPECT_THAT(r.out.Text(), HasSubstr("pass -> fail: exit code 0, want 42"));

  auto text = ReadFile(out);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  json j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(j.is_discarded()) << *text;
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(j["kind"], "polyarch.compare");
  EXPECT_EQ(j["baseline"], a);
  EXPECT_EQ(j["current"], b);
  EXPECT_DOUBLE_EQ(j["max_regression"].get<double>(), 0.1);
  EXPECT_EQ(j["metrics"], json({"starts_per_s", "wait_p50"}));
  ASSERT_EQ(j["rows"].size(), 3u);
  EXPECT_EQ(j["rows"][0]["metric"], "starts_per_s");
  EXPECT_EQ(j["rows"][0]["verdict"], "regression");
  EXPECT_NEAR(j["rows"][0]["change"].get<double>(), 0.5, 1e-9);
  EXPECT_EQ(j["rows"][1]["metric"], "wait_p50");
  EXPECT_EQ(j["rows"][2]["kind"], "conformance");
  EXPECT_EQ(j["rows"][2]["id"], "lifecycle/runc/amd64/exit_code_42");
  EXPECT_EQ(j["rows"][2]["reason"], "exit code 0, want 42");
  EXPECT_EQ(j["summary"]["verdict"], "regression");
  EXPECT_EQ(j["summary"]["regressions"], 3);

  // A looser threshold lets the performance change through; the failed case still fails.
  auto loose = RunPolyarch({"compare", a, b, "--max-regression", "150%"});
  EXPECT_EQ(loose.exit_code, 1);
  EXPECT_THAT(loose.out.Text(), HasSubstr("REGRESSION: 0 performance, 1 conformance"));
}

TEST_F(CompareCliTest, BadInputExitsTwoNamingTheCause) {
  std::string a = WriteReport("a.json", MakeReport(1.0, CaseStatus::kPass));
  std::string junk = Write("junk.json", R"({"schema_version": 1, "kind": "polyarch.report"})");
  std::string broken = Write("broken.json", "{\"kind\":");

  auto not_report = RunPolyarch({"compare", a, junk});
  EXPECT_EQ(not_report.exit_code, 2);
  EXPECT_THAT(not_report.err.Text(), HasSubstr(junk));
  EXPECT_THAT(not_report.err.Text(), HasSubstr("cases"));
  EXPECT_EQ(not_report.out.Text(), "");  // nothing half-printed

  auto not_json = RunPolyarch({"compare", broken, a});
  EXPECT_EQ(not_json.exit_code, 2);
  EXPECT_THAT(not_json.err.Text(), HasSubstr(broken));

  auto absent = RunPolyarch({"compare", a, dir_->path() + "/absent.json"});
  EXPECT_EQ(absent.exit_code, 2);
  EXPECT_THAT(absent.err.Text(), HasSubstr("absent.json"));

  auto metric = RunPolyarch({"compare", a, a, "--metric", "e2e_p95"});
  EXPECT_EQ(metric.exit_code, 2);
  EXPECT_THAT(metric.err.Text(), HasSubstr("e2e_p95"));
  EXPECT_THAT(metric.err.Text(), HasSubstr("known: starts_per_s"));

  EXPECT_EQ(RunPolyarch({"compare", a, a, "--max-regression", "ten"}).exit_code, 2);
  EXPECT_EQ(RunPolyarch({"compare", a, a, "--noise-k", "-1"}).exit_code, 2);
  EXPECT_EQ(RunPolyarch({"compare", a}).exit_code, 2);  // CURRENT is required

  // Help is there and exits 0.
  auto help = RunPolyarch({"compare", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out.Text(), HasSubstr("--max-regression"));
}

}  // namespace
}  // namespace polyarch
