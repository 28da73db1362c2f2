#include "harness/merge/merge.h"

#include <gtest/gtest.h>

namespace polyarch {
namespace {

using json = nlohmann::json;

CaseResult Case(const std::string& layer, const std::string& arch, const std::string& name,
                CaseStatus status = CaseStatus::kPass, std::string reason = "") {
  CaseResult c;
  c.suite = "lifecycle";
  c.layer = layer;
  c.arch = arch;
  c.name = name;
  c.status = status;
  c.reason = std::move(reason);
  c.duration_ns = 1000000;
  return c;
}

NamedReport Shard(int index, int count, std::vector<CaseResult> cases,
                  const std::string& fingerprint = "f00d") {
  NamedReport r;
  r.file = "shard" + std::to_string(index) + "/report.json";
  r.report.context = {{"host", {{"node", "runner-" + std::to_string(index)}, {"kernel", "6.1"}}},
                      {"polyarch",
                       {{"run_id", "run" + std::to_string(index)},
                        {"plan_fingerprint", fingerprint},
                        {"plan", {{"strict", true}}},
                        {"shard", {{"index", index}, {"count", count}}}}}};
  r.report.cases = std::move(cases);
  r.report.complete = true;
  r.report.sections["cleanup"] = {{"ok", true}, {"problems", json::array()}};
  r.report.sections["expectations"] = {
      {"unused",
       {{{"source", "x.json#0"}, {"cases", "*/a"}}, {{"source", "x.json#1"}, {"cases", "*/b"}}}}};
  return r;
}

TEST(MergeTest, ShardsBecomeOneReportWithTheUnionOfCases) {
  std::vector<NamedReport> shards = {
      Shard(2, 3, {Case("runc", "amd64", "b"), Case("crun", "s390x", "c", CaseStatus::kFail, "x")}),
      Shard(1, 3, {Case("runc", "amd64", "a")}), Shard(3, 3, {Case("runc", "s390x", "a")})};
  // shard 3 used entry #0: it is not unused over the union.
  shards[2].report.sections["expectations"]["unused"] = {
      {{"source", "x.json#1"}, {"cases", "*/b"}}};
  ASSERT_EQ(*ChooseMergeMode(shards), MergeMode::kShards);
  auto merged = MergeShards(shards, "/out");
  ASSERT_TRUE(merged.ok()) << merged.status().message();
  ASSERT_EQ(merged->cases.size(), 4u);
  EXPECT_EQ(merged->cases[0].Id(), "lifecycle/crun/s390x/c");  // in id order
  EXPECT_EQ(merged->exit_code, 1);                             // the failed case, decided again
  EXPECT_TRUE(merged->complete);
  EXPECT_FALSE(merged->context["polyarch"].contains("shard"));
  EXPECT_EQ(merged->context["polyarch"]["plan_fingerprint"], "f00d");
  ASSERT_EQ(merged->context["polyarch"]["merged_from"].size(), 3u);
  EXPECT_EQ(merged->context["polyarch"]["merged_from"][0]["shard"], "1/3");
  EXPECT_EQ(merged->sections["expectations"]["unused"].size(), 1u);
  EXPECT_EQ(merged->sections["paths"]["report_json"], "/out/report.json");
  // A report is what comes out: it goes through JSON and back (compare reads it so).
  auto back = ReportFromJson(ReportToJson(*merged));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->cases.size(), 4u);
}

TEST(MergeTest, AnInterruptedShardOrCleanupProblemDecidesTheExitCode) {
  std::vector<NamedReport> shards = {Shard(1, 2, {Case("runc", "amd64", "a")}),
                                     Shard(2, 2, {Case("runc", "amd64", "b")})};
  shards[1].report.sections["cleanup"]["problems"] = {"mount /x was left"};
  auto merged = MergeShards(shards, "/out");
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(merged->exit_code, 1);
  EXPECT_EQ(merged->sections["cleanup"]["problems"][0], "shard 2/2: mount /x was left");
  shards[0].report.complete = false;
  shards[0].report.incomplete_reason = "interrupted by SIGTERM";
  merged = MergeShards(shards, "/out");
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(merged->exit_code, 4);
  EXPECT_FALSE(merged->complete);
  EXPECT_NE(merged->incomplete_reason.find("shard 1/2"), std::string::npos);
}

TEST(MergeTest, MissingDuplicatedAndForeignShardsAreErrorsNamingTheFile) {
  auto message = [](const std::vector<NamedReport>& shards) {
    auto r = MergeShards(shards, "/out");
    return r.ok() ? std::string("merged") : r.status().message();
  };
  std::string m = message({Shard(1, 3, {}), Shard(3, 3, {})});
  EXPECT_NE(m.find("2/3"), std::string::npos) << m;
  EXPECT_NE(m.find("missing"), std::string::npos) << m;
  NamedReport again = Shard(2, 3, {});
  again.file = "again/report.json";
  m = message({Shard(1, 3, {}), Shard(2, 3, {}), again, Shard(3, 3, {})});
  EXPECT_NE(m.find("again/report.json"), std::string::npos) << m;
  EXPECT_NE(m.find("twice"), std::string::npos) << m;
  m = message({Shard(1, 2, {}), Shard(2, 2, {}, "beef")});
  EXPECT_NE(m.find("shard2/report.json"), std::string::npos) << m;
  EXPECT_NE(m.find("another plan"), std::string::npos) << m;
  m = message({Shard(1, 2, {}), Shard(2, 3, {})});
  EXPECT_NE(m.find("shard2/report.json"), std::string::npos) << m;
  m = message(
      {Shard(1, 2, {Case("runc", "amd64", "a")}), Shard(2, 2, {Case("runc", "amd64", "a")})});
  EXPECT_NE(m.find("overlap"), std::string::npos) << m;
  NamedReport whole = Shard(1, 2, {});
  whole.report.context["polyarch"].erase("shard");
  whole.file = "whole.json";
  auto mode = ChooseMergeMode({Shard(1, 2, {}), whole});
  ASSERT_FALSE(mode.ok());
  EXPECT_NE(mode.status().message().find("whole.json"), std::string::npos);
  EXPECT_FALSE(ChooseMergeMode({whole}).ok());
}

NamedReport Host(const std::string& node, std::vector<CaseResult> cases, const std::string& qemu,
                 int exit_code) {
  NamedReport r;
  r.file = node + ".json";
  r.report.context = {{"host", {{"node", node}, {"hostname", node + ".lan"}, {"kernel", "6.1.0"}}},
                      {"qemu", {{"version", qemu}}},
                      {"polyarch", {{"run_id", "r-" + node}, {"plan_fingerprint", "f00d"}}}};
  r.report.cases = std::move(cases);
  r.report.complete = true;
  r.report.exit_code = exit_code;
  r.report.sections["throughput"] = json::array(
      {{{"layer", "runc"}, {"arch", "amd64"}, {"concurrency", 4}, {"starts_per_s", 10.0}}});
  return r;
}

TEST(MergeTest, AFleetShowsTheBrokenHostTheCasesThatDifferAndTheContextBesideThem) {
  std::vector<NamedReport> hosts = {
      Host("node-a", {Case("runc", "amd64", "a"), Case("runc", "s390x", "a")}, "7.2", 0),
      Host("node-b", {Case("runc", "amd64", "a"), Case("runc", "s390x", "a")}, "7.2", 0),
      Host("node-c",
           {Case("runc", "amd64", "a", CaseStatus::kFail, "runtime broken"),
            Case("runc", "s390x", "a")},
           "8.0", 1)};
  ASSERT_EQ(*ChooseMergeMode(hosts), MergeMode::kFleet);
  auto fleet = BuildFleetReport(hosts);
  ASSERT_TRUE(fleet.ok()) << fleet.status().message();
  const json& f = *fleet;
  EXPECT_EQ(f["kind"], "polyarch.fleet");
  EXPECT_EQ(f["exit_code"], 1);
  EXPECT_EQ(f["hosts"].size(), 3u);
  EXPECT_EQ(f["hosts"][2]["verdict"], "fail");
  EXPECT_EQ(f["hosts"][0]["verdict"], "pass");
  EXPECT_EQ(f["matrix"]["node-c"]["runc"]["amd64"]["verdict"], "fail");
  EXPECT_EQ(f["matrix"]["node-c"]["runc"]["s390x"]["verdict"], "pass");
  ASSERT_EQ(f["differing_cases"].size(), 1u);
  EXPECT_EQ(f["differing_cases"][0]["id"], "lifecycle/runc/amd64/a");
  EXPECT_EQ(f["differing_cases"][0]["status"]["node-c"], "fail");
  EXPECT_EQ(f["differing_cases"][0]["reason"]["node-c"], "runtime broken");
  ASSERT_EQ(f["context_differences"].size(), 1u) << f["context_differences"].dump();
  EXPECT_EQ(f["context_differences"][0]["field"], "qemu.version");
  EXPECT_TRUE(f["context_differences"][0]["lines_up_with_failures"]);
  EXPECT_EQ(f["throughput"][0]["starts_per_s"]["node-b"], 10.0);
  std::string console = FormatFleetConsole(f, false);
  EXPECT_NE(console.find("node-c"), std::string::npos);
  EXPECT_NE(console.find("qemu.version (lines up with the failures)"), std::string::npos);
  std::string html = FormatFleetHtml(f);
  EXPECT_NE(html.find("lifecycle/runc/amd64/a"), std::string::npos);
  EXPECT_NE(html.find("runtime broken"), std::string::npos);

  // The same host twice is refused, naming the file.
  hosts.push_back(Host("node-a", {}, "7.2", 0));
  hosts.back().file = "dup.json";
  auto dup = BuildFleetReport(hosts);
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("dup.json"), std::string::npos);
}

TEST(MergeTest, AFleetWithoutFailuresPassesAndSaysWhenPlansDiffer) {
  std::vector<NamedReport> hosts = {Host("a", {Case("runc", "amd64", "x")}, "7.2", 0),
                                    Host("b", {Case("crun", "amd64", "x")}, "7.2", 0)};
  hosts[1].report.context["polyarch"]["plan_fingerprint"] = "other";
  auto fleet = BuildFleetReport(hosts);
  ASSERT_TRUE(fleet.ok());
  EXPECT_EQ((*fleet)["exit_code"], 0);
  EXPECT_EQ((*fleet)["differing_cases"].size(), 2u);  // each is missing on the other host
  EXPECT_EQ((*fleet)["differing_cases"][0]["status"]["a"], "missing");
  EXPECT_EQ((*fleet)["warnings"].size(), 1u);
}

}  // namespace
}  // namespace polyarch
