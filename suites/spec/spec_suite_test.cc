#include "suites/spec/spec_suite.h"

#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "harness/core/oci_spec.h"
#include "tests/build_paths.h"

namespace polyarch {
namespace {

using nlohmann::json;

const SpecRule& Rule(const std::string& name) {
  for (const auto& r : SpecRules()) {
    if (r.name == name) return r;
  }
  ADD_FAILURE() << "no rule " << name;
  static SpecRule none;
  return none;
}

const SpecConfig& Config(const std::string& name) {
  for (const auto& c : SpecConfigs()) {
    if (c.name == name) return c;
  }
  ADD_FAILURE() << "no config " << name;
  static SpecConfig none;
  return none;
}

Capabilities Caps(uint32_t settings) {
  Capabilities c;
  c.settings = settings;
  return c;
}

SpecObservation Observed(const std::string& config, uint32_t settings = kAllSpecSettings) {
  SpecObservation o;
  o.settings = Config(config).settings(Caps(settings), "pa-test-c1", 4242, "/scratch/pa-test-c1");
  return o;
}

TEST(SpecRulesTest, EveryRuleIsNamedOnceReadsAConfigAndCitesTheSpec) {
  std::set<std::string> names, configs;
  for (const auto& c : SpecConfigs()) configs.insert(c.name);
  for (const auto& r : SpecRules()) {
    EXPECT_TRUE(names.insert(r.name).second) << r.name;
    if (r.own) {
      EXPECT_TRUE(r.config.empty() && !r.check) << r.name << ": its own container, no config";
      continue;
    }
    EXPECT_TRUE(configs.count(r.config)) << r.name << " reads " << r.config;
    EXPECT_NE(r.section.find(".md#"), std::string::npos) << r.name;
    EXPECT_TRUE(r.level == "MUST" || r.level == "MUST NOT" || r.level == "SHOULD" ||
                r.level == "defines")
        << r.name;
    EXPECT_FALSE(r.text.empty()) << r.name;
    EXPECT_TRUE(r.check) << r.name;
  }
  EXPECT_GE(SpecRules().size(), 60u);
}

TEST(SpecRulesTest, DocsListEveryRule) {
  std::ifstream in(std::string(testing::kSourceDir) + "/docs/spec.md");
  ASSERT_TRUE(in) << "docs/spec.md";
  std::stringstream ss;
  ss << in.rdbuf();
  for (const auto& r : SpecRules()) {
    EXPECT_NE(ss.str().find("`" + r.name + "`"), std::string::npos)
        << r.name << " is not in docs/spec.md";
  }
}

TEST(SpecRulesTest, ALayerGetsOnlyTheSettingsItCanExpress) {
  SpecSettings engine = Config("process").settings(Caps(kSetUser | kSetCapabilitySet), "x", 0, "");
  EXPECT_TRUE(engine.uid.has_value());
  EXPECT_FALSE(engine.capabilities.has_value());
  ASSERT_TRUE(engine.capability_set.has_value());
  EXPECT_FALSE(engine.umask.has_value());
  EXPECT_EQ(engine.Used() & ~uint32_t(kSetUser | kSetCapabilitySet), 0u);
  SpecSettings tmpfs_only = Config("filesystem").settings(Caps(kSetTmpfsMounts), "x", 0, "");
  for (const auto& m : tmpfs_only.mounts) EXPECT_EQ(m.type, "tmpfs") << m.destination;
  EXPECT_EQ(tmpfs_only.Used(), uint32_t(kSetTmpfsMounts));
}

TEST(SpecRulesTest, ARuleIsPlannedOnlyWhereTheLayerCanExpressIt) {
  SpecSuite suite;
  const ArchInfo& arch = **LookupArch("s390x");
  Capabilities engine = Caps(kSetCapabilitySet);
  Capabilities runtime = Caps(kAllSpecSettings);
  std::map<std::string, CaseDef> cases;
  for (auto& c : suite.Cases()) cases[c.name] = c;
  EXPECT_TRUE(Applies(cases.at("capabilities_bounding"), arch, false, &engine));
  EXPECT_FALSE(Applies(cases.at("capabilities_ambient"), arch, false, &engine));
  EXPECT_TRUE(Applies(cases.at("capabilities_ambient"), arch, false, &runtime));
  EXPECT_FALSE(Applies(cases.at("user_umask"), arch, false, &engine));
  EXPECT_TRUE(Applies(cases.at("default_device_null"), arch, false, &engine));
}

TEST(SpecRulesTest, CapabilitySetsAreComparedByName) {
  SpecObservation o = Observed("process");
  // bounding CHOWN(0) KILL(5) NET_BIND_SERVICE(10) SETUID(7) AUDIT_WRITE(29)
  o.record["status"]["CapBnd"] = "00000000200004a1";
  EXPECT_EQ(Rule("capabilities_bounding").check(o), "");
  o.record["status"]["CapBnd"] = "00000000200000a1";  // NET_BIND_SERVICE dropped
  std::string why = Rule("capabilities_bounding").check(o);
  EXPECT_NE(why.find("CAP_NET_BIND_SERVICE"), std::string::npos) << why;
  o.record["status"]["CapBnd"] = 7;  // not a string
  EXPECT_NE(Rule("capabilities_bounding").check(o), "");
  o.record["status"]["CapAmb"] = "0000000000000400";
  EXPECT_EQ(Rule("capabilities_ambient").check(o), "");
  // uid 1000: execve leaves the ambient set as permitted and effective.
  o.record["status"]["CapEff"] = "0000000000000400";
  EXPECT_EQ(Rule("capabilities_effective").check(o), "");
  o.record["status"]["CapEff"] = "0000000000000021";  // the configured effective set
  EXPECT_NE(Rule("capabilities_effective").check(o), "");
}

TEST(SpecRulesTest, RlimitsCompareSoftAndHardWithInfinityAsMinusOne) {
  SpecObservation o = Observed("process");
  o.record["rlimits"]["RLIMIT_NOFILE"] = {{"soft", 513}, {"hard", 1025}};
  o.record["rlimits"]["RLIMIT_CPU"] = {{"soft", 3600}, {"hard", -1}};
  EXPECT_EQ(Rule("rlimit_nofile").check(o), "");
  EXPECT_EQ(Rule("rlimit_cpu").check(o), "");
  o.record["rlimits"]["RLIMIT_NOFILE"] = {{"soft", 1024}, {"hard", 1025}};
  EXPECT_NE(Rule("rlimit_nofile").check(o).find("soft 1024"), std::string::npos);
  o.record["rlimits"]["RLIMIT_CPU"] = {{"errno", "EINVAL"}};
  EXPECT_NE(Rule("rlimit_cpu").check(o).find("EINVAL"), std::string::npos);
  o.record["rlimits"] = "garbage";
  EXPECT_NE(Rule("rlimit_core").check(o), "");
}

TEST(SpecRulesTest, MountOptionsComeFromMountinfoAndWrites) {
  SpecObservation o = Observed("filesystem");
  o.record["mountinfo"] = json::array(
      {{{"mount_point", "/"}, {"options", "ro,relatime"}, {"fstype", "overlay"}, {"optional", ""}},
       {{"mount_point", "/tmp/m/ro"}, {"options", "ro,relatime"}, {"fstype", "tmpfs"}},
       {{"mount_point", "/tmp/m/noexec"}, {"options", "rw,nosuid"}, {"fstype", "tmpfs"}}});
  o.record["writes"] = {{"/polyarch-root-write", {{"errno", "EROFS"}}},
                        {"/tmp/m/ro/x", {{"errno", "EROFS"}}}};
  EXPECT_EQ(Rule("root_readonly").check(o), "");
  EXPECT_EQ(Rule("mount_option_ro").check(o), "");
  EXPECT_NE(Rule("mount_option_noexec").check(o).find("without noexec"), std::string::npos);
  EXPECT_NE(Rule("mount_option_nodev").check(o).find("not a mount point"), std::string::npos);
  o.record["writes"]["/polyarch-root-write"] = {{"ok", true}};
  EXPECT_NE(Rule("root_readonly").check(o).find("success"), std::string::npos);
}

TEST(SpecRulesTest, MountOrderFollowsTheConfig) {
  SpecObservation o = Observed("filesystem");
  json mi = json::array();
  for (const auto& m : o.settings.mounts) mi.push_back({{"mount_point", m.destination}});
  o.record["mountinfo"] = mi;
  EXPECT_EQ(Rule("mounts_in_order").check(o), "");
  std::swap(o.record["mountinfo"][0], o.record["mountinfo"][3]);
  EXPECT_NE(Rule("mounts_in_order").check(o).find("before"), std::string::npos);
}

TEST(SpecRulesTest, DevicesAndLinks) {
  SpecObservation o = Observed("filesystem");
  o.record["stats"]["/dev/null"] = {{"type", "chr"}, {"major", 1}, {"minor", 3}, {"mode", 0666}};
  o.record["stats"]["/dev/zero"] = {{"type", "reg"}, {"major", 0}, {"minor", 0}};
  o.record["stats"]["/dev/ptmx"] = {{"type", "lnk"}, {"target", "pts/ptmx"}};
  o.record["stats"]["/dev/fd"] = {{"type", "lnk"}, {"target", "/proc/self/fd"}};
  o.record["stats"]["/dev/polyarch-null"] = {{"type", "chr"}, {"major", 1}, {"minor", 3},
                                             {"mode", 0640},  {"uid", 0},   {"gid", 1000}};
  EXPECT_EQ(Rule("default_device_null").check(o), "");
  EXPECT_NE(Rule("default_device_zero").check(o), "");
  EXPECT_NE(Rule("default_device_full").check(o), "");
  EXPECT_EQ(Rule("default_device_ptmx").check(o), "");
  EXPECT_EQ(Rule("dev_symlink_fd").check(o), "");
  EXPECT_NE(Rule("dev_symlink_stdin").check(o), "");
  EXPECT_EQ(Rule("device_node").check(o), "");
  EXPECT_EQ(Rule("device_file_mode").check(o), "");
  EXPECT_EQ(Rule("device_owner").check(o), "");
}

TEST(SpecRulesTest, NamespacesCompareWithTheRuntimeAndTheSibling) {
  SpecObservation o = Observed("namespaces");
  o.record["ns"] = {{"net", "net:[1]"}, {"ipc", "ipc:[2]"}};
  o.host["ns_runtime"] = {{"network", "net:[9]"}, {"ipc", "ipc:[2]"}};
  o.host["ns_sibling"] = {{"network", "net:[1]"}, {"ipc", "ipc:[3]"}};
  EXPECT_EQ(Rule("namespace_new_network").check(o), "");
  EXPECT_NE(Rule("namespace_new_ipc").check(o).find("the same as"), std::string::npos);
  EXPECT_EQ(Rule("namespace_inherited_ipc").check(o), "");
  EXPECT_EQ(Rule("namespace_path_network").check(o), "");
  EXPECT_NE(Rule("namespace_path_ipc").check(o), "");
  EXPECT_NE(Rule("namespace_new_uts").check(o).find("could not read"), std::string::npos);
}

TEST(SpecRulesTest, UserNamespaceMappingsAreParsed) {
  SpecObservation o = Observed("userns");
  o.record["uid_map"] = "         0          0      65536\n";
  o.record["gid_map"] = "         0          0 4294967295\n";
  EXPECT_EQ(Rule("user_namespace_uid_mappings").check(o), "");
  EXPECT_NE(Rule("user_namespace_gid_mappings").check(o), "");
}

TEST(SpecRulesTest, CgroupLimitsOnV1AndV2) {
  SpecObservation o = Observed("cgroups");
  o.host["cgroup"]["memory"] = {{"path", "/pa-test-c1-cg"}, {"memory.limit_in_bytes", "67108864"}};
  o.host["cgroup"]["cpu"] = {{"cpu.shares", "512"}, {"cpu.cfs_quota_us", "-1"}};
  EXPECT_EQ(Rule("cgroup_memory_limit").check(o), "");
  EXPECT_EQ(Rule("cgroup_cpu_shares").check(o), "");
  EXPECT_NE(Rule("cgroup_cpu_quota").check(o).find("-1"), std::string::npos);
  EXPECT_EQ(Rule("cgroups_path").check(o), "");
  SpecObservation v2 = Observed("cgroups");
  v2.host["cgroup"]["unified"] = {{"path", "/pa-test-c1-cg"},
                                  {"memory.max", "67108864"},
                                  {"cpu.weight", "20"},
                                  {"cpu.max", "20000 100000"},
                                  {"pids.max", "64"}};
  for (const char* r : {"cgroup_memory_limit", "cgroup_cpu_shares", "cgroup_cpu_quota",
                        "cgroup_cpu_period", "cgroup_pids_limit", "cgroups_path"}) {
    EXPECT_EQ(Rule(r).check(v2), "") << r;
  }
  EXPECT_EQ(Rule("cgroup_devices_allowed").check(v2).rfind("SKIP: ", 0), 0u);
}

TEST(SpecRulesTest, SeccompErrnoAndFilterMode) {
  SpecObservation o = Observed("seccomp");
  o.record["syscalls"] = {{"getpgid", {{"errno", "EDOM"}}}, {"getsid", {{"ret", 12}}}};
  o.record["status"]["Seccomp"] = "2";
  EXPECT_EQ(Rule("seccomp_errno_ret").check(o), "");
  EXPECT_EQ(Rule("seccomp_default_action").check(o), "");
  EXPECT_EQ(Rule("seccomp_filter_installed").check(o), "");
  o.record["syscalls"]["getpgid"] = {{"ret", 1}};
  EXPECT_NE(Rule("seccomp_errno_ret").check(o), "");
}

TEST(SpecRulesTest, CgroupLimitsAreReadInsideAndBlkioThrottlesOnTheHost) {
  SpecObservation o = Observed("cgroups");
  const std::string v1 = "/sys/fs/cgroup/memory/memory.limit_in_bytes";
  o.record["reads"][v1] = {{"content", "67108864\n"}};
  EXPECT_EQ(Rule("cgroup_memory_limit_inside").check(o), "");
  o.record["reads"][v1] = {{"errno", "ENOENT"}};
  o.record["reads"]["/sys/fs/cgroup/memory.max"] = {{"content", "max\n"}};
  EXPECT_NE(Rule("cgroup_memory_limit_inside").check(o).find("memory.max is 'max'"),
            std::string::npos);
  o.record["reads"].erase("/sys/fs/cgroup/memory.max");
  EXPECT_NE(Rule("cgroup_memory_limit_inside").check(o).find("ENOENT"), std::string::npos);
  o.record["reads"]["/sys/fs/cgroup/cpu.max"] = {{"content", "20000 100000\n"}};
  EXPECT_EQ(Rule("cgroup_cpu_quota_inside").check(o), "") << "v2: quota and period";

  o.settings.blkio = BlkioLimits{{{254, 0, 1048576, "/dev/vda"}}, {{254, 0, 120, "/dev/vda"}}};
  o.host["cgroup"] = {{"blkio",
                       {{"blkio.throttle.read_bps_device", "254:0 1048576"},
                        {"blkio.throttle.write_iops_device", ""}}}};
  EXPECT_EQ(Rule("blkio_throttle_read_bps").check(o), "");
  EXPECT_NE(Rule("blkio_throttle_write_iops").check(o), "");
  o.host["cgroup"] = {{"unified", {{"io.max", "254:0 rbps=1048576 wbps=max riops=max wiops=120"}}}};
  EXPECT_EQ(Rule("blkio_throttle_read_bps").check(o), "");
  EXPECT_EQ(Rule("blkio_throttle_write_iops").check(o), "");
  o.host["cgroup"]["unified"]["io.max"] = "254:0 rbps=1048576";
  EXPECT_NE(Rule("blkio_throttle_write_iops").check(o), "");
  o.settings.blkio.reset();
  EXPECT_EQ(Rule("blkio_throttle_read_bps").check(o).rfind("SKIP: ", 0), 0u);
}

TEST(SpecRulesTest, TheStateTheHooksReadCarriesTheConfigsAnnotations) {
  SpecObservation o = Observed("hooks");
  ASSERT_FALSE(o.settings.annotations.empty());
  json state = {
      {"ociVersion", "1.0.2"}, {"id", "pa-test-c1"}, {"status", "creating"}, {"bundle", "/b"}};
  for (const auto& [k, v] : o.settings.annotations) state["annotations"][k] = v;
  o.host["hooks"] = {{"prestart", state}, {"poststart", state}};
  EXPECT_EQ(Rule("state_annotations").check(o), "");
  o.host["hooks"]["poststart"]["annotations"].erase("org.polyarch.check");
  EXPECT_NE(Rule("state_annotations").check(o).find("poststart"), std::string::npos);
  o.host["hooks"]["poststart"].erase("annotations");
  EXPECT_NE(Rule("state_annotations").check(o), "");
  o.host["hooks"] = json::object();
  EXPECT_NE(Rule("state_annotations").check(o), "") << "no hook ran: nothing shows the state";
}

TEST(SpecRulesTest, FailingHookRulesHaveAContainerOfTheirOwnForEveryStage) {
  std::set<std::string> own;
  for (const auto& r : SpecRules()) {
    if (r.own) own.insert(r.name);
  }
  for (const char* stage : {"prestart", "createRuntime", "createContainer", "startContainer"}) {
    EXPECT_TRUE(own.count(std::string("hook_fails_") + stage)) << stage;
  }
  EXPECT_TRUE(own.count("hook_fails_poststart"));
  EXPECT_TRUE(own.count("hook_fails_poststop"));
}

TEST(SpecRulesTest, AnEmptyRecordFailsEveryRuleWithAReason) {
  for (const auto& r : SpecRules()) {
    if (r.own) continue;
    SpecObservation o = Observed(r.config);
    o.record = json::object();
    std::string why = r.check(o);
    EXPECT_FALSE(why.empty()) << r.name;
  }
}

TEST(SpecSettingsTest, AppliedToTheConfigAsTheSpecNamesThem) {
  SpecSettings s = Config("process").settings(Caps(kAllSpecSettings), "x", 0, "");
  OciSpecOptions o;
  o.args = {"/probe"};
  o.settings = &s;
  json c = MakeOciSpec(o);
  EXPECT_EQ(c["process"]["user"]["uid"], 1000);
  EXPECT_EQ(c["process"]["user"]["umask"], 027);
  EXPECT_EQ(c["process"]["capabilities"]["ambient"], json({"CAP_NET_BIND_SERVICE"}));
  EXPECT_EQ(c["process"]["oomScoreAdj"], 123);
  EXPECT_EQ(c["domainname"], "spec.polyarch.test");
  SpecSettings inherit = Config("ns_inherit").settings(Caps(kAllSpecSettings), "x", 0, "");
  o.settings = &inherit;
  json i = MakeOciSpec(o);
  EXPECT_FALSE(i.contains("hostname")) << "a host name needs a UTS namespace of its own";
  SpecSettings join = Config("ns_join").settings(Caps(kAllSpecSettings), "x", 4242, "");
  o.settings = &join;
  EXPECT_EQ(MakeOciSpec(o)["linux"]["namespaces"][2]["path"], "/proc/4242/ns/net");
}

}  // namespace
}  // namespace polyarch
