#include "harness/run/plan.h"

#include <sched.h>

#include <gtest/gtest.h>

namespace polyarch {
namespace {

TEST(PlanTest, SuiteFileInYamlOrJsonGivesThePlan) {
  auto p = ParseSuiteText(
      "suites: [lifecycle]\n"
      "layers: runc, crun\n"
      "arches: [amd64, arm64, linux/s390x]\n"
      "filter: 'exit_code_*'\n"
      "repeat: 2\n"
      "jobs: 3\n"
      "strict: true\n"
      "runtimes: {runc: /opt/runc, containerd: /opt/wrapper}\n"
      "throughput: {containers: 8, concurrency: [1, 2], cycle: lifecycle}\n",
      "plan.yaml");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->suites, std::vector<std::string>{"lifecycle"});
  EXPECT_EQ(p->layers, (std::vector<std::string>{"runc", "crun"}));
  ASSERT_EQ(p->arches.size(), 3u);
  EXPECT_EQ(p->arches[1]->name, "aarch64");
  EXPECT_EQ(p->filter, "exit_code_*");
  EXPECT_EQ(p->repeat, 2);
  EXPECT_EQ(p->jobs, 3);
  EXPECT_TRUE(p->strict);
  EXPECT_EQ(p->runtime_binaries.at("runc"), "/opt/runc");
  EXPECT_EQ(p->runtime_binaries.at("containerd"), "/opt/wrapper");
  EXPECT_EQ(p->throughput.concurrency, (std::vector<int>{1, 2}));
  EXPECT_EQ(p->throughput.cycle, "lifecycle");
  EXPECT_EQ(Plan().throughput.cycle, "auto");
  // Workers: one per core this process may run on, unless a plan says otherwise.
  EXPECT_EQ(Plan().jobs, UsableCores());
  cpu_set_t mask;
  ASSERT_EQ(::sched_getaffinity(0, sizeof(mask), &mask), 0);
  EXPECT_EQ(UsableCores(), CPU_COUNT(&mask));
  auto j = ParseSuiteText(R"({"suites": ["crossarch"], "jobs": 2})", "plan.json");
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_EQ(j->jobs, 2);
}

// Expectations files, as --expectations gives them, and the built-in set left out.
TEST(PlanTest, ExpectationsFilesAndTheBuiltInSet) {
  EXPECT_TRUE(Plan().builtin_expectations);
  EXPECT_TRUE(Plan().expectations.empty());
  auto p = ParseSuiteText(
      "expectations: [site.json, /etc/polyarch/known.json]\nbuiltin_expectations: false\n",
      "plan.yaml");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->expectations, (std::vector<std::string>{"site.json", "/etc/polyarch/known.json"}));
  EXPECT_FALSE(p->builtin_expectations);
  EXPECT_EQ(p->ToJson()["expectations"], nlohmann::json({"site.json", "/etc/polyarch/known.json"}));
  EXPECT_EQ(p->ToJson()["builtin_expectations"], false);
}

struct BadFile {
  const char* text;
  const char* expect;  // substring of the message, which starts with file:line
};

class BadSuiteFileTest : public ::testing::TestWithParam<BadFile> {};

TEST_P(BadSuiteFileTest, RejectedWithFileAndLine) {
  auto p = ParseSuiteText(GetParam().text, "bad.yaml");
  ASSERT_FALSE(p.ok()) << GetParam().text;
  EXPECT_EQ(p.status().code(), Code::kInvalidArgument);
  EXPECT_NE(p.status().message().find(GetParam().expect), std::string::npos)
      << p.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    EveryMistake, BadSuiteFileTest,
    ::testing::Values(
        BadFile{"suites: [lifecycle]\nlayer: runc\n", "bad.yaml:2: unknown key 'layer'"},
        BadFile{"suites: [lifecycle, speed]\n", "bad.yaml:1: unknown suite 'speed'"},
        BadFile{"layers: [runc]\narches: [sparc9]\n", "bad.yaml:2: unknown architecture 'sparc9'"},
        BadFile{"jobs: many\n", "bad.yaml:1: 'jobs' must be an integer"},
        BadFile{"repeat: 0\n", "bad.yaml:1: 'repeat' must be between 1"},
        BadFile{"strict: maybe\n", "bad.yaml:1: 'strict' must be true or false"},
        BadFile{"builtin_expectations: 0.5\n",
                "bad.yaml:1: 'builtin_expectations' must be true or false"},
        BadFile{"jobs: 1\njobs: 2\n", "bad.yaml:2: key 'jobs' given twice"},
        BadFile{"suites: [lifecycle\n", "bad.yaml:"},
        BadFile{"- a\n- b\n", "bad.yaml:1: a suite file is a mapping"},
        BadFile{"runtimes: {kata: /x}\n", "'runtimes' takes a layer's name, not 'kata'"},
        BadFile{"throughput: {containers: 5, speed: 2}\n", "unknown key 'throughput.speed'"},
        BadFile{"throughput: {cycle: fast}\n", "bad.yaml:1: unknown cycle 'fast' (known: auto"},
        BadFile{"docker_host: tcp://10.0.0.1:2375\n", "unix sockets only"},
        BadFile{"", "bad.yaml: the suite file is empty"}));

TEST(PlanTest, NameListsAndGlobs) {
  auto l = ParseNameList("runc, docker", KnownLayers(), "layer");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(*l, (std::vector<std::string>{"runc", "docker"}));
  EXPECT_EQ(ParseNameList("all", KnownLayers(), "layer")->size(), 8u);
  // podman alone is its default runtime's layer.
  EXPECT_EQ(*ParseNameList("podman,podman:runc", KnownLayers(), "layer"),
            (std::vector<std::string>{"podman:crun", "podman:runc"}));
  auto bad = ParseNameList("runc,podman:kata", KnownLayers(), "layer");
  EXPECT_NE(bad.status().message().find("unknown layer 'podman:kata'"), std::string::npos);
  EXPECT_TRUE(GlobMatch("exit_code_*", "exit_code_42"));
  EXPECT_TRUE(GlobMatch("*/s390x/*", "lifecycle/runc/s390x/exit_code_42"));
  EXPECT_FALSE(GlobMatch("exit_code_*", "kill_term_exits_143"));
}

TEST(PlanTest, LayersAreRuntimesOrEnginesOverARuntime) {
  // The bare engine names keep their meaning; the ENGINE:runc spellings become them.
  auto l = ParseNameList("containerd:runc,containerd:crun,docker:runc,docker:crun,docker",
                         KnownLayers(), "layer");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(*l,
            (std::vector<std::string>{"containerd", "containerd:crun", "docker", "docker:crun"}));
  EXPECT_FALSE(ParseNameList("docker:youki", KnownLayers(), "layer").ok());
  EXPECT_EQ(LayerEngine("runc"), "");
  EXPECT_EQ(LayerEngine("containerd"), "containerd");
  EXPECT_EQ(LayerEngine("docker:crun"), "docker");
  EXPECT_EQ(LayerRuntime("crun"), "crun");
  EXPECT_EQ(LayerRuntime("containerd"), "runc");
  EXPECT_EQ(LayerRuntime("containerd:crun"), "crun");
  for (const auto& layer : KnownLayers()) EXPECT_TRUE(IsRuntimeBinaryLayer(layer)) << layer;
  auto file = ParseSuiteText(
      "layers: [docker:runc, containerd:crun]\nruntimes:\n  docker:crun: /w\n", "s.yaml");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->layers, (std::vector<std::string>{"docker", "containerd:crun"}));
  EXPECT_EQ(file->runtime_binaries.at("docker:crun"), "/w");
}

}  // namespace
}  // namespace polyarch
