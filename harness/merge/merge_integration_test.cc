// A fleet simulated on one machine, through the built binary on the real stack: three runs as
// three "nodes" (own state directories, own --node names), one of them given a runtime that
// fails every start; the same plan in three shards balanced by the first node's durations.
// The merged shards must equal the unsharded run case for case, and the fleet report must
// show the broken node's failures and the context field that lines up with them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <map>
#include <set>

#include "cli_runner.h"
#include "harness/core/fs.h"
#include "harness/report/result.h"

namespace polyarch {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using testing::RunPolyarch;

// The plan every "node" and shard runs: two runtimes, native and one emulated arch.
const std::vector<std::string> kPlan = {"--layer",    "runc,crun",      "--arch", "amd64,s390x",
                                        "--suite",    "lifecycle,spec", "--jobs", "2",
                                        "--no-color", "--strict"};

class FleetIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("polyarch-fleet-");
    ASSERT_TRUE(d.ok()) << d.status().message();
    dir_ = std::make_unique<TempDir>(std::move(*d));
  }
  std::string Path(const std::string& name) const { return dir_->path() + "/" + name; }

  // polyarch run as node `node` with its own state directory; the report goes to <dir>/<node>.
  ProcessResult RunAs(const std::string& node, std::vector<std::string> extra) {
    std::vector<std::string> args = {"--state-dir", Path("s-" + node), "run",     "--node",
                                     node,          "--report-dir",    Path(node)};
    args.insert(args.end(), kPlan.begin(), kPlan.end());
    args.insert(args.end(), extra.begin(), extra.end());
    return RunPolyarch(args, std::chrono::seconds(600));
  }

  static std::map<std::string, std::string> Verdicts(const json& report) {
    std::map<std::string, std::string> out;
    for (const auto& c : report["cases"]) {
      std::string id = c["suite"].get<std::string>() + "/" + c["layer"].get<std::string>() + "/" +
                       c["arch"].get<std::string>() + "/" + c["name"].get<std::string>();
      out[id] = c["status"].get<std::string>();
    }
    return out;
  }

  std::unique_ptr<TempDir> dir_;
};

json ReadFleetJson(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return json();
  return json::parse(*text, nullptr, false);
}

TEST_F(FleetIntegrationTest, ShardsMergeToTheUnshardedRunAndTheFleetShowsTheBrokenNode) {
  // A runtime that refuses every start: the injected difference of node-c.
  const std::string broken = Path("broken-runc");
  ASSERT_TRUE(WriteFileAtomic(broken,
                              "#!/bin/sh\n"
                              "for a in \"$@\"; do\n"
                              "  if [ \"$a\" = start ]; then echo 'start refused' >&2; exit 1; fi\n"
                              "done\n"
                              "exec runc \"$@\"\n",
                              0755)
                  .ok());

  ProcessResult a = RunAs("node-a", {});
  ASSERT_EQ(a.exit_code, 0) << a.out.Text() << a.err.Text();
  ProcessResult b = RunAs("node-b", {});
  ASSERT_EQ(b.exit_code, 0) << b.out.Text() << b.err.Text();
  ProcessResult c = RunAs("node-c", {"--runtime-binary", "runc=" + broken});
  EXPECT_EQ(c.exit_code, 1) << c.out.Text() << c.err.Text();

  const json whole = ReadFleetJson(Path("node-a/report.json"));
  ASSERT_TRUE(whole.is_object());
  EXPECT_EQ(whole["context"]["host"]["node"], "node-a");
  EXPECT_FALSE(whole["context"]["host"]["machine_id"].get<std::string>().empty());
  EXPECT_GT(whole["context"]["host"]["memory_bytes"].get<int64_t>(), 0);
  EXPECT_FALSE(whole["context"]["host"]["distro"].get<std::string>().empty());
  EXPECT_FALSE(whole["context"]["host"]["tools"]["runc"].get<std::string>().empty());
  const std::string fingerprint = whole["context"]["polyarch"]["plan_fingerprint"];
  ASSERT_EQ(fingerprint.size(), 16u);
  // The host identity is in the JUnit properties too.
  auto junit = ReadFile(Path("node-a/junit.xml"));
  ASSERT_TRUE(junit.ok());
  EXPECT_THAT(*junit, HasSubstr("name=\"host.node\" value=\"node-a\""));
  EXPECT_THAT(*junit, HasSubstr("name=\"polyarch.plan_fingerprint\" value=\"" + fingerprint));

  // The same plan in three shards, balanced by node-a's durations.
  std::vector<std::string> shard_reports;
  for (int i = 1; i <= 3; ++i) {
    std::string node = "shard-" + std::to_string(i);
    ProcessResult s = RunAs(
        node, {"--shard", std::to_string(i) + "/3", "--shard-weights", Path("node-a/report.json")});
    ASSERT_EQ(s.exit_code, 0) << s.out.Text() << s.err.Text();
    json r = ReadFleetJson(Path(node + "/report.json"));
    EXPECT_EQ(r["context"]["polyarch"]["plan_fingerprint"], fingerprint);
    EXPECT_EQ(r["context"]["polyarch"]["shard"]["index"], i);
    EXPECT_GT(r["cases"].size(), 0u);
    const json& predicted = r["context"]["polyarch"]["shard"]["predicted_seconds"];
    ASSERT_EQ(predicted.size(), 3u);
    double sum = 0, slowest = 0;
    for (const auto& p : predicted) {
      sum += p.get<double>();
      slowest = std::max(slowest, p.get<double>());
    }
    EXPECT_LE(slowest, 1.3 * sum / 3) << predicted.dump();
    shard_reports.push_back(Path(node + "/report.json"));
  }
  // Given in another order: the merge does not care.
  ProcessResult m = RunPolyarch({"merge", shard_reports[2], shard_reports[0], Path("shard-2"),
                                 "--out", Path("merged"), "--no-color"});
  ASSERT_EQ(m.exit_code, 0) << m.out.Text() << m.err.Text();
  const json merged = ReadFleetJson(Path("merged/report.json"));
  ASSERT_TRUE(merged.is_object());
  EXPECT_EQ(Verdicts(merged), Verdicts(whole));
  EXPECT_EQ(merged["cases"].size(), whole["cases"].size());
  EXPECT_EQ(merged["context"]["polyarch"]["plan_fingerprint"], fingerprint);
  EXPECT_EQ(merged["exit_code"], 0);
  EXPECT_TRUE(PathExists(Path("merged/junit.xml")));
  EXPECT_TRUE(PathExists(Path("merged/report.html")));
  // compare takes the merged report like any other.
  ProcessResult cmp =
      RunPolyarch({"compare", Path("node-a/report.json"), Path("merged/report.json"), "--strict"});
  EXPECT_EQ(cmp.exit_code, 0) << cmp.out.Text() << cmp.err.Text();

  // A shard missing, given twice, or merged with a whole run: exit 2, naming what is wrong.
  ProcessResult missing =
      RunPolyarch({"merge", shard_reports[0], shard_reports[1], "--out", Path("bad")});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err.Text(), HasSubstr("3/3"));
  ProcessResult twice = RunPolyarch({"merge", shard_reports[0], shard_reports[1], shard_reports[1],
                                     shard_reports[2], "--out", Path("bad")});
  EXPECT_EQ(twice.exit_code, 2);
  EXPECT_THAT(twice.err.Text(), HasSubstr(shard_reports[1]));
  ProcessResult mixed =
      RunPolyarch({"merge", shard_reports[0], Path("node-b/report.json"), "--out", Path("bad")});
  EXPECT_EQ(mixed.exit_code, 2);
  EXPECT_THAT(mixed.err.Text(), HasSubstr("node-b/report.json"));
  EXPECT_FALSE(PathExists(Path("bad")));

  // The fleet: node-c fails, and only where its runtime differs.
  ProcessResult f = RunPolyarch({"merge", Path("node-a"), Path("node-b"), Path("node-c"), "--out",
                                 Path("fleet"), "--no-color"});
  EXPECT_EQ(f.exit_code, 1) << f.out.Text() << f.err.Text();
  EXPECT_THAT(f.out.Text(), HasSubstr("node-c"));
  const json fleet = ReadFleetJson(Path("fleet/fleet.json"));
  ASSERT_TRUE(fleet.is_object());
  ASSERT_EQ(fleet["hosts"].size(), 3u);
  std::map<std::string, std::string> verdict;
  for (const auto& h : fleet["hosts"]) verdict[h["node"]] = h["verdict"];
  EXPECT_EQ(verdict["node-a"], "pass");
  EXPECT_EQ(verdict["node-b"], "pass");
  EXPECT_EQ(verdict["node-c"], "fail");
  EXPECT_EQ(fleet["matrix"]["node-c"]["runc"]["amd64"]["verdict"], "fail");
  EXPECT_EQ(fleet["matrix"]["node-c"]["crun"]["amd64"]["verdict"], "pass");
  EXPECT_EQ(fleet["matrix"]["node-a"]["runc"]["amd64"]["verdict"], "pass");
  ASSERT_GT(fleet["differing_cases"].size(), 0u);
  for (const auto& d : fleet["differing_cases"]) {
    EXPECT_THAT(d["id"].get<std::string>(), HasSubstr("/runc/")) << d.dump();
    EXPECT_EQ(d["status"]["node-a"], d["status"]["node-b"]) << d.dump();
    EXPECT_NE(d["status"]["node-c"], d["status"]["node-a"]) << d.dump();
  }
  bool binary_lines_up = false;
  for (const auto& c : fleet["context_differences"]) {
    if (c["field"] == "layers.runc.binary") {
      binary_lines_up = c["lines_up_with_failures"].get<bool>();
      EXPECT_EQ(c["values"]["node-c"], broken);
    }
  }
  EXPECT_TRUE(binary_lines_up) << fleet["context_differences"].dump();
  auto html = ReadFile(Path("fleet/fleet.html"));
  ASSERT_TRUE(html.ok());
  EXPECT_THAT(*html, HasSubstr("node-c"));
  EXPECT_THAT(*html, HasSubstr("layers.runc.binary"));
}

// A restart scenario serves every layer and arch of its daemon with one event: it must not be
// cut. Two shards of the containerd restart scenarios over two arches: each scenario's cases
// are all in one shard, together the shards hold every scenario, and they merge.
TEST_F(FleetIntegrationTest, ARestartScenarioStaysWholeInOneShard) {
  std::map<std::string, std::set<std::string>> shards_of;  // scenario -> shards holding it
  std::map<std::string, size_t> cases_of;
  for (int i = 1; i <= 2; ++i) {
    const std::string node = "r" + std::to_string(i);
    ProcessResult r =
        RunPolyarch({"--state-dir", Path("s-" + node), "run", "--suite", "restart", "--layer",
                     "containerd", "--arch", "amd64,s390x", "--shard", std::to_string(i) + "/2",
                     "--node", node, "--report-dir", Path(node), "--strict", "--no-color"},
                    std::chrono::seconds(600));
    ASSERT_EQ(r.exit_code, 0) << r.out.Text() << r.err.Text();
    json report = ReadFleetJson(Path(node + "/report.json"));
    for (const auto& c : report["cases"]) {
      EXPECT_EQ(c["status"], "pass") << c.dump();
      shards_of[c["name"]].insert(node);
      ++cases_of[c["name"]];
    }
  }
  EXPECT_EQ(shards_of.size(), 2u) << "containerd has two restart scenarios";
  for (const auto& [scenario, shards] : shards_of) {
    EXPECT_EQ(shards.size(), 1u) << scenario << " was cut between shards";
    EXPECT_EQ(cases_of[scenario], 2u) << scenario << ": one case per arch";
  }
  ProcessResult m = RunPolyarch({"merge", Path("r1"), Path("r2"), "--out", Path("restart-merged")});
  EXPECT_EQ(m.exit_code, 0) << m.out.Text() << m.err.Text();
}

}  // namespace
}  // namespace polyarch
