// The restart suite against the real daemons: every daemon layer, native and emulated, keeps
// (or, dockerd without live-restore, stops) its containers across a restart, each case
// carries its downtime, and the run leaves nothing behind.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>

#include "cli_runner.h"
#include "harness/core/fs.h"
#include "harness/core/strings.h"
#include "harness/run/plan.h"

namespace polyarch {
namespace {

using nlohmann::json;
using testing::RunPolyarch;

// The scenarios each engine gets.
std::vector<std::string> ScenariosOf(const std::string& layer) {
  const std::string engine = LayerEngine(layer);
  if (engine == "docker") {
    return {"dockerd_without_live_restore_stops_containers",
            "dockerd_live_restore_keeps_containers"};
  }
  if (engine == "podman") return {"podman_service_restart_keeps_containers"};
  if (engine == "containerd") {
    return {"containerd_sigterm_keeps_containers", "containerd_sigkill_keeps_containers"};
  }
  return {};
}

TEST(RestartIntegrationTest, EveryDaemonLayerComesBackUnderLiveContainersAndNothingIsLeft) {
  auto d = TempDir::Create("polyarch-restart-itest-");
  ASSERT_TRUE(d.ok());
  const std::string reports = d->path() + "/reports";
  // Every layer unless the build narrows them (POLYARCH_TEST_LAYERS: one per driver under
  // ASan); runc and crun have no daemon and get no case.
  std::vector<std::string> args = {"run",        "--suite",      "restart",
                                   "--arch",     "amd64,s390x",  "--strict",
                                   "--no-color", "--report-dir", reports};
  std::vector<std::string> layers = KnownLayers();
  const char* narrowed = std::getenv("POLYARCH_TEST_LAYERS");
  if (narrowed != nullptr && *narrowed != '\0') {
    args.insert(args.end(), {"--layer", narrowed});
    layers.clear();
    for (const auto& l : Split(narrowed, ',')) layers.push_back(CanonicalLayer(l));
  }
  auto r = RunPolyarch(args, std::chrono::seconds(900));
  EXPECT_EQ(r.exit_code, 0) << r.out.Text() << r.err.Text();
  auto text = ReadFile(reports + "/report.json");
  ASSERT_TRUE(text.ok());
  json report = json::parse(*text, nullptr, false);
  ASSERT_TRUE(report.is_object());

  std::set<std::string> expected, seen;
  for (const auto& l : layers) {
    for (const auto& s : ScenariosOf(l)) {
      for (const char* arch : {"amd64", "s390x"})
        expected.insert("restart/" + l + "/" + arch + "/" + s);
    }
  }
  ASSERT_FALSE(expected.empty());
  for (const auto& c : report["cases"]) {
    const std::string id = c.value("id", "");
    SCOPED_TRACE(id);
    seen.insert(id);
    EXPECT_EQ(c["status"], "pass") << c.value("reason", "");
    const json& m = c["metrics"];
    for (const char* k :
         {"daemon_exit_ms", "restart_ms", "downtime_ms", "answer_after_restart_ms"}) {
      ASSERT_TRUE(m.contains(k)) << k;
      EXPECT_GT(m[k].get<double>(), 0) << k;
    }
    // The layer answered after the daemon was started again, which came after it went down.
    EXPECT_GE(m["downtime_ms"].get<double>(), m["answer_after_restart_ms"].get<double>());
    EXPECT_GE(m["answer_after_restart_ms"].get<double>(), m["restart_ms"].get<double>());
    std::map<std::string, int> steps;
    for (const auto& s : c["steps"]) ++steps[s.value("name", "")];
    const bool keeps = id.find("keeps_containers") != std::string::npos;
    // Two containers where they are kept (one exits while the daemon is down), else one.
    EXPECT_EQ(steps["start"], keeps ? 2 : 1);
    EXPECT_EQ(steps["layer answers again"], 1);
    if (keeps) {
      EXPECT_EQ(steps["exec /probe exit 3"], 1);
      EXPECT_EQ(steps["kill 15"], 1);
    }
  }
  EXPECT_EQ(seen, expected);

  const json& cleanup = report["sections"]["cleanup"];
  EXPECT_TRUE(cleanup["ok"].get<bool>()) << cleanup.dump();
  EXPECT_EQ(cleanup["mounts_added"].size(), 0u) << cleanup.dump();
  EXPECT_EQ(cleanup["cgroups_left"].size(), 0u) << cleanup.dump();
  EXPECT_EQ(cleanup["mounts_left_under_run_dir"], 0);
}

}  // namespace
}  // namespace polyarch
