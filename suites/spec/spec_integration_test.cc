// The spec suite against the real stack: every layer passes its rules (or lists the deviation
// as expected), and a runtime that drops one setting fails exactly the rules about it, through
// runc and crun, containerd's shim, dockerd's runtimes and podman's.
#include <algorithm>
#include <set>

#include <gtest/gtest.h>

#include "cli_runner.h"
#include "harness/core/fs.h"
#include "harness/core/subprocess.h"
#include "suites/spec/spec_suite.h"

namespace polyarch {
namespace {

using nlohmann::json;
using testing::RunPolyarch;

class SpecIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("polyarch-spec-itest-");
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(*d));
  }

  json Report(const std::string& reports) {
    auto text = ReadFile(reports + "/report.json");
    return text.ok() ? json::parse(*text, nullptr, false) : json();
  }

  std::unique_ptr<TempDir> dir_;
};

// Every layer on the native arch and one emulated one: every case passes or is a listed
// deviation, and each layer gets the rules it can express (docker fewer than runc).
TEST_F(SpecIntegrationTest, EveryLayerGetsItsRulesAndPassesThem) {
  const std::string reports = dir_->path() + "/reports";
  auto r = RunPolyarch({"run", "--suite", "spec", "--arch", "amd64,riscv64", "--strict",
                        "--report-dir", reports, "--no-color"},
                       std::chrono::seconds(900));
  EXPECT_EQ(r.exit_code, 0) << r.out.Text() << r.err.Text();
  json report = Report(reports);
  ASSERT_TRUE(report.is_object());
  std::map<std::string, int> per_layer;
  for (const auto& c : report["cases"]) {
    EXPECT_TRUE(c["status"] == "pass" || c["status"] == "xfail") << c["id"] << ": " << c["reason"];
    if (c["arch"] == "amd64") ++per_layer[c["layer"].get<std::string>()];
  }
  EXPECT_EQ(per_layer["runc"], static_cast<int>(SpecRules().size()));
  EXPECT_EQ(per_layer["crun"], static_cast<int>(SpecRules().size()));
  EXPECT_EQ(per_layer["containerd"], static_cast<int>(SpecRules().size()));
  EXPECT_EQ(per_layer["containerd:crun"], static_cast<int>(SpecRules().size()));
  EXPECT_EQ(per_layer["docker:crun"], per_layer["docker"]);
  // podman is driven through the same API.
  EXPECT_EQ(per_layer["podman:crun"], per_layer["docker"]);
  EXPECT_EQ(per_layer["podman:runc"], per_layer["docker"]);
  EXPECT_GT(per_layer["docker"], 40);
  EXPECT_LT(per_layer["docker"], per_layer["runc"]);
}

// A wrapper of `runtime` that passes the config on without its rlimits, given with
// --runtime-binary to each of `layers` (one arch): the process config's rlimit cases fail
// through every one of them, with the values seen, and nothing else changes. That proves the
// binary is on the path each layer's containers take.
void ExpectTheWrapperFailsExactlyTheRlimitCases(const std::string& dir, const std::string& runtime,
                                                const std::vector<std::string>& layers) {
  auto real = FindProgram(runtime);
  ASSERT_TRUE(real.ok()) << runtime;
  const std::string wrapper = dir + "/" + runtime + "-without-rlimits";
  ASSERT_TRUE(WriteFileAtomic(wrapper,
                              "#!/bin/sh\n"
                              "# Drops process.rlimits from the bundle's config, then runs the "
                              "runtime.\n"
                              "bundle=.\n"
                              "prev=\n"
                              "for a in \"$@\"; do\n"
                              "  [ \"$prev\" = --bundle ] || [ \"$prev\" = -b ] && bundle=$a\n"
                              "  case $a in --bundle=*) bundle=${a#--bundle=} ;; esac\n"
                              "  prev=$a\n"
                              "done\n"
                              "for a in \"$@\"; do\n"
                              "  if [ \"$a\" = create ] || [ \"$a\" = run ]; then\n"
                              "    /usr/bin/python3 -c 'import json,sys; p=sys.argv[1]; "
                              "c=json.load(open(p)); c[\"process\"].pop(\"rlimits\",None); "
                              "json.dump(c,open(p,\"w\"))' \"$bundle/config.json\" || exit 1\n"
                              "    break\n"
                              "  fi\n"
                              "done\n"
                              "exec " +
                                  *real + " \"$@\"\n",
                              0755)
                  .ok());
  const std::string reports = dir + "/reports-" + runtime;
  std::string layer_list;
  std::vector<std::string> args = {"run", "--suite", "spec", "--arch", "amd64"};
  for (const auto& l : layers) {
    layer_list += (layer_list.empty() ? "" : ",") + l;
    args.insert(args.end(), {"--runtime-binary", l + "=" + wrapper});
  }
  args.insert(args.end(), {"--layer", layer_list, "--report-dir", reports, "--no-color"});
  auto r = RunPolyarch(args, std::chrono::seconds(900));
  EXPECT_EQ(r.exit_code, 1) << r.out.Text() << r.err.Text();
  auto text = ReadFile(reports + "/report.json");
  ASSERT_TRUE(text.ok()) << r.err.Text();
  json report = json::parse(*text, nullptr, false);
  ASSERT_TRUE(report.is_object());
  std::set<std::string> failed, planned;
  size_t passed = 0;
  for (const auto& c : report["cases"]) {
    const std::string id = c["id"];
    planned.insert(id);
    if (c["status"] == "fail") {
      failed.insert(id);
      EXPECT_NE(c["reason"].get<std::string>().find("the config gives soft"), std::string::npos)
          << id << ": " << c["reason"];
    } else {
      EXPECT_TRUE(c["status"] == "pass" || c["status"] == "xfail") << id << ": " << c["reason"];
      ++passed;
    }
  }
  std::set<std::string> want;
  for (const auto& rule : SpecRules()) {
    // The raised ones already fail without the wrapper: listed deviations, xfail either way.
    if (rule.name.rfind("rlimit_", 0) != 0 || rule.config != "process") continue;
    for (const auto& layer : layers) {
      // An engine is given only the rules its API can express.
      const std::string id = "spec/" + layer + "/amd64/" + rule.name;
      if (planned.count(id)) want.insert(id);
    }
  }
  EXPECT_EQ(failed, want);
  for (const auto& layer : layers) {
    EXPECT_GT(std::count_if(
                  want.begin(), want.end(),
                  [&](const std::string& id) { return id.rfind("spec/" + layer + "/", 0) == 0; }),
              3)
        << layer << " expresses the rlimits: its cases must go red through the wrapper";
  }
  EXPECT_GE(passed, 50 * layers.size()) << "the other rules still pass through the wrapper";
}

// runc's wrapper under the runc layer, containerd's shim, dockerd's default runtime and the
// runtime of podman:runc's service.
TEST_F(SpecIntegrationTest, AWrapperThatDropsRlimitsFailsExactlyTheRlimitCases) {
  ExpectTheWrapperFailsExactlyTheRlimitCases(dir_->path(), "runc",
                                             {"runc", "containerd", "docker", "podman:runc"});
}

// crun's wrapper under the crun layer and the engines over crun: containerd:crun's shim, the
// runtime dockerd registers for docker:crun and podman:crun's service.
TEST_F(SpecIntegrationTest, AWrapperOfCrunUnderEachEngineFailsExactlyTheRlimitCases) {
  ExpectTheWrapperFailsExactlyTheRlimitCases(
      dir_->path(), "crun", {"crun", "containerd:crun", "docker:crun", "podman:crun"});
}

}  // namespace
}  // namespace polyarch
