// The daemons' pure helpers: version parsing and the configuration they are started with.
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness/daemons/containerd_daemon.h"
#include "harness/daemons/daemon_process.h"
#include "harness/daemons/dockerd_daemon.h"
#include "harness/daemons/podman_service.h"

namespace polyarch {
namespace {

TEST(DaemonsParseTest, CtrServerVersionComesFromTheServerSection) {
  auto v = ParseCtrServerVersion(
      "Client:\n  Version:  9.9.9\n  Revision: x\n  Go version: go1.19.8\n\n"
      "Server:\n  Version:  1.6.20~ds1\n  Revision: 1.6.20~ds1-1+deb12u3\n  UUID: abc\n");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, "1.6.20~ds1");
  auto none = ParseCtrServerVersion("Client:\n  Version:  1.6.20~ds1\n");
  EXPECT_EQ(none.status().code(), Code::kNotFound);
}

TEST(DaemonsParseTest, LiveRestoreAndContainerdReachabilityAreReadWithoutThrowing) {
  EXPECT_EQ(ParseLiveRestoreEnabled(R"({"LiveRestoreEnabled":true,"ID":"x"})").value(), true);
  EXPECT_EQ(ParseLiveRestoreEnabled(R"({"LiveRestoreEnabled":false})").value(), false);
  for (const char* bad : {"", "nope", "[]", R"({"LiveRestoreEnabled":"true"})", R"({})"}) {
    EXPECT_EQ(ParseLiveRestoreEnabled(bad).status().code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(VersionListsContainerd(
      R"({"Version":"20.10","Components":[{"Name":"Engine"},{"Name":"containerd","Version":"1.6"}]})"));
  for (const char* no : {"", "{", R"({"Components":[{"Name":"Engine"}]})", R"({"Components":{}})",
                         R"({"Components":[null,3,{"Name":7}]})"}) {
    EXPECT_FALSE(VersionListsContainerd(no)) << no;
  }
  nlohmann::json cfg = DockerdConfig("/r/dockerd", true);
  EXPECT_EQ(cfg["live-restore"], true);
  EXPECT_EQ(cfg["deprecated-key-path"], "/r/dockerd/key.json");
  EXPECT_EQ(DockerdConfig("/r/dockerd", false)["live-restore"], false);
}

TEST(DaemonsParseTest, DockerVersionIsParsedWithoutThrowing) {
  auto v = ParseDockerVersion(
      R"({"Version":"20.10.24+dfsg1","ApiVersion":"1.41","MinAPIVersion":"1.12","Os":"linux"})");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->version, "20.10.24+dfsg1");
  EXPECT_EQ(v->api_version, "1.41");
  EXPECT_EQ(v->min_api_version, "1.12");
  for (const char* bad : {"", "not json", "[1,2]", R"({"Version":1,"ApiVersion":"1.41"})",
                          R"({"Version":"20.10"})", R"({"Version":"x","ApiVersion":null})"}) {
    auto r = ParseDockerVersion(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
  }
}

TEST(DaemonsParseTest, ApiVersionsCompareNumerically) {
  EXPECT_TRUE(ApiVersionAtLeast("1.41", "1.41"));
  EXPECT_TRUE(ApiVersionAtLeast("1.100", "1.41"));
  EXPECT_TRUE(ApiVersionAtLeast("2.0", "1.41"));
  EXPECT_FALSE(ApiVersionAtLeast("1.40", "1.41"));
  EXPECT_FALSE(ApiVersionAtLeast("1.9", "1.41"));
  EXPECT_FALSE(ApiVersionAtLeast("", "1.41"));
}

TEST(DaemonsParseTest, ContainerdConfigKeepsEverythingUnderTheRunDir) {
  std::string c = ContainerdConfig("/r/containerd", "info", "");
  EXPECT_NE(c.find("version = 2\n"), std::string::npos);
  EXPECT_NE(c.find("root = \"/r/containerd/root\""), std::string::npos);
  EXPECT_NE(c.find("state = \"/r/containerd/state\""), std::string::npos);
  EXPECT_NE(c.find("address = \"/r/containerd/containerd.sock\""), std::string::npos);
  EXPECT_NE(c.find("address = \"/r/containerd/containerd.sock.ttrpc\""), std::string::npos);
  EXPECT_NE(c.find("disabled_plugins = [\"io.containerd.grpc.v1.cri\"]"), std::string::npos);
  EXPECT_NE(c.find("path = \"/r/containerd/opt\""), std::string::npos);
  EXPECT_EQ(c.find("/var/lib"), std::string::npos);
  EXPECT_NE(c.find("tcp_address = \"\""), std::string::npos);
  for (const char* tcp : {"127.0.0.1", "0.0.0.0", "localhost", "[::]"}) {
    EXPECT_EQ(c.find(tcp), std::string::npos) << tcp;
  }
}

TEST(DaemonsParseTest, DockerdArgsTurnNetworkingOffAndListenOnlyOnTheRunDirSocket) {
  DockerdOptions o;
  std::vector<std::string> a = DockerdArgs("/usr/sbin/dockerd", "/r/dockerd", "/r/c.sock", o);
  std::string joined;
  for (const auto& s : a) joined += s + " ";
  for (const char* want :
       {"--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-masq=false",
        "--ip-forward=false", "--userland-proxy=false", "--config-file /r/dockerd/daemon.json",
        "--data-root /r/dockerd/data", "--exec-root /r/dockerd/exec",
        "--pidfile /r/dockerd/dockerd.pid", "--host unix:///r/dockerd/docker.sock",
        "--containerd /r/c.sock", "--storage-driver overlay2"}) {
    EXPECT_NE(joined.find(want), std::string::npos) << want << " missing from " << joined;
  }
  EXPECT_EQ(joined.find("tcp://"), std::string::npos);
  EXPECT_EQ(joined.find("--default-runtime"), std::string::npos) << "dockerd's own runc by default";
}

TEST(DaemonsParseTest, DockerdArgsRegisterEveryLayersRuntime) {
  DockerdOptions o;
  o.runtimes = {{"crun", "/usr/bin/crun"}};
  std::vector<std::string> a = DockerdArgs("/usr/sbin/dockerd", "/r/dockerd", "/r/c.sock", o);
  auto add = std::find(a.begin(), a.end(), "--add-runtime");
  ASSERT_NE(add, a.end());
  ASSERT_NE(add + 1, a.end());
  EXPECT_EQ(*(add + 1), "crun=/usr/bin/crun");
  EXPECT_EQ(std::find(a.begin(), a.end(), "--default-runtime"), a.end())
      << "the default stays dockerd's runc";
}

TEST(DaemonsParseTest, DockerdArgsMakeAGivenRuntimeBinaryTheDefault) {
  DockerdOptions o;
  o.runtime_binary = "/opt/wrap/runc";
  std::vector<std::string> a = DockerdArgs("/usr/sbin/dockerd", "/r/dockerd", "/r/c.sock", o);
  auto add = std::find(a.begin(), a.end(), "--add-runtime");
  ASSERT_NE(add, a.end());
  ASSERT_NE(add + 1, a.end());
  const std::string registered = *(add + 1);
  ASSERT_EQ(registered.find('='), registered.size() - std::string("/opt/wrap/runc").size() - 1);
  EXPECT_EQ(registered.substr(registered.find('=') + 1), "/opt/wrap/runc");
  auto def = std::find(a.begin(), a.end(), "--default-runtime");
  ASSERT_NE(def, a.end());
  ASSERT_NE(def + 1, a.end());
  EXPECT_EQ(*(def + 1), registered.substr(0, registered.find('=')));
}

// Every path podman may write goes under the service's directory, but the run root, which
// must be short; the runtime is the wrapper, and `system service` comes last.
TEST(DaemonsParseTest, PodmanServiceIsPrivateToItsDirectory) {
  PodmanServiceOptions o;
  o.runtime_binary = "/usr/bin/crun";
  o.extra_args = {"--log-level", "debug"};
  const std::string dir = "/var/lib/polyarch/runs/20261203T000000-abcd/daemons/podman-crun";
  std::vector<std::string> a = PodmanServiceArgs("/usr/bin/podman", dir, o);
  auto value = [&a](const std::string& flag) {
    auto it = std::find(a.begin(), a.end(), flag);
    return it == a.end() || it + 1 == a.end() ? std::string("(missing)") : *(it + 1);
  };
  EXPECT_EQ(a.front(), "/usr/bin/podman");
  EXPECT_EQ(value("--root"), dir + "/root");
  EXPECT_EQ(value("--tmpdir"), dir + "/tmp");
  EXPECT_EQ(value("--network-config-dir"), dir + "/cni");
  EXPECT_EQ(value("--hooks-dir"), dir + "/hooks");
  EXPECT_EQ(value("--runtime"), dir + "/runtime");
  EXPECT_EQ(value("--cgroup-manager"), "cgroupfs");
  EXPECT_EQ(value("--events-backend"), "file");
  const std::string run_root = value("--runroot");
  EXPECT_EQ(run_root, PodmanRunRoot(dir));
  EXPECT_LE(run_root.size(), 50u) << "podman 4.3 refuses a longer run root";
  EXPECT_TRUE(daemons_internal::IsPrivateDaemonDir(run_root)) << run_root;
  EXPECT_NE(PodmanRunRoot(dir), PodmanRunRoot(dir + "x")) << "one run root per service";
  const std::vector<std::string> tail(a.end() - 5, a.end());
  EXPECT_EQ(tail, (std::vector<std::string>{"system", "service", "--time", "0",
                                            "unix://" + dir + "/podman.sock"}));
  EXPECT_NE(std::find(a.begin(), a.end(), "debug"), a.end());

  const std::string conf = PodmanContainersConf(dir);
  for (const char* want : {"netns = \"none\"", "cgroup_manager = \"cgroupfs\"",
                           "lock_type = \"file\"", "events_logger = \"file\""}) {
    EXPECT_NE(conf.find(want), std::string::npos) << want;
  }
  EXPECT_NE(conf.find("tmp_dir = \"" + dir + "/tmp\""), std::string::npos) << conf;
  EXPECT_EQ(conf.find("/var/lib/containers"), std::string::npos) << conf;
}

TEST(DaemonsParseTest, PodmanRuntimeWrapperQuotesForTheShell) {
  EXPECT_EQ(PodmanRuntimeWrapper("/usr/bin/crun", "/r/oci"),
            "#!/bin/sh\n# polyarch: the layer's OCI runtime, its state in the service's "
            "directory\nexec '/usr/bin/crun' --root '/r/oci' \"$@\"\n");
  const std::string w = PodmanRuntimeWrapper("/opt/it's/runc", "/r/o i");
  EXPECT_NE(w.find("exec '/opt/it'\\''s/runc' --root '/r/o i' \"$@\""), std::string::npos) << w;
}

TEST(DaemonsParseTest, PodmanContainerLimitsAreTheServicesHardLimitsAtMostPodmansDefault) {
  const std::string limits =
      "Limit                     Soft Limit           Hard Limit           Units     \n"
      "Max cpu time              unlimited            unlimited            seconds   \n"
      "Max processes             32768                32768                processes \n"
      "Max open files            1024                 20000                files     \n";
  auto l = PodmanContainerLimits(limits);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(*l, (std::map<std::string, int64_t>{{"nofile", 20000}, {"nproc", 32768}}));
  auto high = PodmanContainerLimits(
      "Max processes             unlimited            unlimited            processes \n"
      "Max open files            1048576              4194304              files     \n");
  ASSERT_TRUE(high.ok());
  EXPECT_EQ(*high, (std::map<std::string, int64_t>{{"nofile", 1048576}, {"nproc", 1048576}}));
  for (const char* bad : {"", "Max processes 1 2\n", "Max processes 1 x\nMax open files 1 2\n",
                          "Max processes 1 -5\nMax open files 1 2\n"}) {
    EXPECT_EQ(PodmanContainerLimits(bad).status().code(), Code::kInvalidArgument) << bad;
  }
}

TEST(DaemonsParseTest, OnlyRunPolyarchDirectoriesArePrivateDaemonDirectories) {
  using daemons_internal::IsPrivateDaemonDir;
  EXPECT_TRUE(IsPrivateDaemonDir("/run/polyarch-podman-0123456789ab"));
  for (const char* no : {"/run/polyarch-", "/run/polyarch-a/b", "/run/polyarch-..", "/run/podman",
                         "/var/run/polyarch-x", "/run/polyarch"}) {
    EXPECT_FALSE(IsPrivateDaemonDir(no)) << no;
  }
}

}  // namespace
}  // namespace polyarch
