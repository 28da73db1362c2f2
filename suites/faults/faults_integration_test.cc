// The fault suite end to end, as CI runs it: `polyarch run --suite faults --strict`.
#include <unistd.h>

#include <set>
#include <string>

#include <gtest/gtest.h>

#include "cli_runner.h"
#include "harness/core/fs.h"
#include "harness/report/result.h"
#include "harness/report/text.h"
#include "suites/faults/faults.h"

namespace polyarch {
namespace {

using nlohmann::json;

TEST(FaultsIntegrationTest, EveryScenarioPassesAndLeavesTheHostAsItWas) {
  if (::geteuid() != 0) GTEST_SKIP() << "the fault suite injects faults for real: needs root";
  // A short state directory: the scenarios' daemons put unix sockets below it.
  auto dir = TempDir::Create("paf-", "/tmp");
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  const std::string reports = dir->path() + "/reports";
  ProcessResult r =
      testing::RunPolyarch({"--state-dir", dir->path() + "/s", "run", "--suite", "faults",
                            "--strict", "--report-dir", reports, "--no-color"},
                           std::chrono::seconds(900));
  EXPECT_EQ(r.exit_code, 0) << r.Describe() << "\n" << r.out.Text() << "\n" << r.err.Text();

  auto text = ReadFile(reports + "/report.json");
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_TRUE(IsValidUtf8(*text));
  json j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(j.is_discarded()) << "report.json is not JSON";
  auto read = ReportFromJson(j);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  const RunReport& report = *read;
  EXPECT_TRUE(report.complete);

  std::set<std::string> seen;
  for (const CaseResult& c : report.cases) {
    SCOPED_TRACE(c.Id());
    EXPECT_EQ(c.suite, "faults") << "a faults-only run runs nothing else";
    seen.insert(c.name);
    EXPECT_EQ(c.status, CaseStatus::kPass) << c.reason;
    ASSERT_TRUE(c.data.is_object());
    EXPECT_FALSE(c.data.value("injected", "").empty());
    EXPECT_FALSE(c.data.value("observed", "").empty());
    // The host-state check really looked (it saw the host's fixed daemon paths at least) and
    // found nothing changed.
    ASSERT_TRUE(c.data.contains("host_checked"));
    const json& checked = c.data["host_checked"];
    ASSERT_TRUE(checked.contains("before") && checked.contains("after"));
    EXPECT_FALSE(checked["before"].empty());
    EXPECT_FALSE(checked["scope"]["dirs"].empty());
    ASSERT_TRUE(c.data.contains("host_diff"));
    EXPECT_TRUE(c.data["host_diff"].is_object());
    EXPECT_TRUE(c.data["host_diff"].empty()) << c.data["host_diff"].dump(2);
  }
  std::vector<std::string> names = FaultScenarioNames();
  EXPECT_EQ(names.size(), 11u);
  for (const auto& n : names) EXPECT_TRUE(seen.count(n)) << n << " did not run";
  ASSERT_TRUE(j["sections"].contains("faults"));
  EXPECT_EQ(j["sections"]["faults"].size(), names.size());
  EXPECT_TRUE(j["sections"]["cleanup"].value("ok", false)) << j["sections"]["cleanup"].dump(2);
}

}  // namespace
}  // namespace polyarch
