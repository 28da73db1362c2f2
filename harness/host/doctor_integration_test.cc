// `polyarch doctor` against this real host.
#include <unistd.h>

#include <gtest/gtest.h>

#include "cli_runner.h"
#include "harness/host/facts.h"

namespace polyarch {
namespace {

using testing::RunPolyarch;
using testing::StdoutJson;

const nlohmann::json* FindCheck(const nlohmann::json& doc, const std::string& id) {
  for (const auto& c : doc["checks"]) {
    if (c["id"] == id) return &c;
  }
  return nullptr;
}

TEST(DoctorIntegrationTest, JsonIsValidAndEveryCheckCarriesAReason) {
  auto r = RunPolyarch({"doctor", "--json"});
  auto doc = StdoutJson(r);
  ASSERT_FALSE(doc.is_discarded()) << r.out.Text() << r.err.Text();
  EXPECT_EQ(doc["schema_version"], 1);
  EXPECT_EQ(doc["kind"], "polyarch.doctor");
  ASSERT_GE(doc["checks"].size(), 20u);
  int fails = 0;
  for (const auto& c : doc["checks"]) {
    EXPECT_FALSE(c["reason"].get<std::string>().empty()) << c.dump();
    std::string st = c["status"];
    EXPECT_TRUE(st == "ok" || st == "warn" || st == "fail") << c.dump();
    if (st != "ok") {
      EXPECT_FALSE(c["hint"].get<std::string>().empty()) << c.dump();
    }
    fails += st == "fail";
  }
  EXPECT_EQ(doc["summary"]["fail"], fails);
  EXPECT_EQ(r.exit_code, fails > 0 ? 1 : 0);
  for (const char* id : {"kernel.version",
                         "host.root",
                         "binfmt.available",
                         "emulator.s390x",
                         "namespace.mnt",
                         "namespace.pid",
                         "namespace.net",
                         "namespace.uts",
                         "namespace.ipc",
                         "namespace.user",
                         "namespace.cgroup",
                         "cgroup.mode",
                         "storage.overlayfs",
                         "security.seccomp",
                         "storage.free_disk",
                         "runtime.runc",
                         "runtime.crun",
                         "runtime.containerd",
                         "runtime.ctr",
                         "runtime.dockerd",
                         "runtime.runc.accepts_host",
                         "runtime.crun.accepts_host"}) {
    EXPECT_NE(FindCheck(doc, id), nullptr) << "missing check " << id;
  }
  // This host is real and provisioned by ci/setup.sh: these hold on it.
  EXPECT_EQ((*FindCheck(doc, "namespace.pid"))["status"], "ok");
  EXPECT_EQ((*FindCheck(doc, "storage.overlayfs"))["status"], "ok");
  EXPECT_EQ((*FindCheck(doc, "emulator.s390x"))["status"], "ok");
  EXPECT_EQ((*FindCheck(doc, "runtime.runc.accepts_host"))["status"], "ok");
}

// crun 1.8 refuses a hybrid layout whose v2 hierarchy holds a controller. Doctor must say so
// with the fix, and --fix must make crun run a container.
TEST(DoctorIntegrationTest, CrunVerdictFollowsTheCgroupLayoutAndFixMakesItRun) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  auto layout = DetectCgroupLayout();
  ASSERT_TRUE(layout.ok());
  bool held = layout->mode == CgroupMode::kHybrid && !layout->v2_controllers.empty();

  auto r = RunPolyarch({"doctor", "--json"});
  auto doc = StdoutJson(r);
  ASSERT_FALSE(doc.is_discarded());
  const auto* crun = FindCheck(doc, "runtime.crun.accepts_host");
  ASSERT_NE(crun, nullptr);
  const auto* hybrid = FindCheck(doc, "cgroup.hybrid_v2_controllers");
  if (held) {
    ASSERT_NE(hybrid, nullptr);
    EXPECT_EQ((*hybrid)["fix"], "cgroup-v1-hierarchies");
    EXPECT_EQ((*crun)["status"], "fail") << crun->dump();
    EXPECT_EQ((*crun)["fix"], "cgroup-v1-hierarchies");
    EXPECT_NE((*crun)["reason"].get<std::string>().find("hybrid"), std::string::npos);
  } else {
    EXPECT_EQ(hybrid, nullptr);
    EXPECT_EQ((*crun)["status"], "ok") << crun->dump();
  }

  auto fixed = RunPolyarch({"doctor", "--fix", "--json"});
  auto after = StdoutJson(fixed);
  ASSERT_FALSE(after.is_discarded()) << fixed.err.Text();
  EXPECT_EQ(after["fixes_applied"].empty(), !held) << after["fixes_applied"].dump();
  for (const auto& f : after["fixes_applied"]) {
    EXPECT_TRUE(f["ok"].get<bool>()) << f.dump();
    EXPECT_NE(f["change"].get<std::string>().find("mounted"), std::string::npos);
  }
  EXPECT_EQ((*FindCheck(after, "runtime.crun.accepts_host"))["status"], "ok");
  EXPECT_EQ(FindCheck(after, "cgroup.hybrid_v2_controllers"), nullptr);
}

TEST(DoctorIntegrationTest, TextReportListsChecksAndTotals) {
  auto r = RunPolyarch({"doctor", "--no-runtime-probe"});
  std::string out = r.out.Text();
  EXPECT_NE(out.find("kernel.version"), std::string::npos) << out;
  EXPECT_NE(out.find(" ok, "), std::string::npos);
  EXPECT_NE(out.find(" fail"), std::string::npos);
}

}  // namespace
}  // namespace polyarch
