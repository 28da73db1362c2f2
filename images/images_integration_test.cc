// Real images from the real inputs (Debian's busybox-static .debs, the cross-compiled probes)
// run under the real binfmt_misc; the OCI layout and docker-archives go into real daemons.
#include <unistd.h>

#include <gtest/gtest.h>

#include "binfmt/arch.h"
#include "cli_runner.h"
#include "harness/core/fs.h"
#include "harness/core/subprocess.h"
#include "harness/daemons/containerd_daemon.h"
#include "harness/daemons/dockerd_daemon.h"
#include "harness/daemons/http_client.h"
#include "images/builder.h"

namespace polyarch {
namespace {

using nlohmann::json;
using testing::RunPolyarch;
using testing::StdoutJson;

class ImagesIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto d = TempDir::Create("polyarch-images-itest-");
    ASSERT_TRUE(d.ok());
    dir_ = new TempDir(std::move(*d));
    prefix_ = "pa-img-itest-" + std::to_string(::getpid()) + "-";
    auto install = RunPolyarch({"--state-dir", dir_->path(), "binfmt", "install", "--arch", "all",
                                "--prefix", prefix_, "--no-prove"});
    ASSERT_EQ(install.exit_code, 0) << install.out.Text() << install.err.Text();
    auto build = RunPolyarch({"--state-dir", dir_->path(), "images", "build", "--json"});
    ASSERT_EQ(build.exit_code, 0) << build.err.Text();
    built_ = new json(StdoutJson(build));
  }
  static void TearDownTestSuite() {
    if (dir_ == nullptr) return;
    (void)RunPolyarch(
        {"--state-dir", dir_->path(), "binfmt", "uninstall", "--arch", "all", "--prefix", prefix_});
    delete built_;
    delete dir_;
    dir_ = nullptr;
  }

  static TempDir* dir_;
  static std::string prefix_;
  static json* built_;
};
TempDir* ImagesIntegrationTest::dir_ = nullptr;
std::string ImagesIntegrationTest::prefix_;
json* ImagesIntegrationTest::built_ = nullptr;

TEST_F(ImagesIntegrationTest, EveryArchBuildsAndItsProbeReportsItsOwnArch) {
  ASSERT_FALSE(built_->is_discarded());
  const auto& images = (*built_)["images"];
  ASSERT_EQ(images.size(), 9u);
  std::string golden;
  // The shell workload's expected output comes from the host's own tools.
  auto host_sh = RunProcess({"/bin/sh", "-c", "echo $((6*7)) | sha256sum | cut -c1-8"},
                            std::chrono::seconds(10));
  ASSERT_TRUE(host_sh.ok() && host_sh->success());
  for (const auto& img : images) {
    auto arch = LookupArch(img["arch"].get<std::string>());
    ASSERT_TRUE(arch.ok());
    SCOPED_TRACE(std::string((*arch)->name));
    EXPECT_EQ(img["busybox"].get<bool>(), ExpectsBusybox(**arch));
    std::string probe = img["bundle"].get<std::string>() + "/rootfs/probe";
    auto r = RunProcess({probe, "info"}, std::chrono::seconds(60));
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(r->success()) << r->Describe() << r->err.Text();
    json info = json::parse(r->out.Text(), nullptr, false);
    ASSERT_FALSE(info.is_discarded()) << r->out.Text();
    EXPECT_EQ(info["machine"], (*arch)->uname_machine);
    EXPECT_EQ(info["endianness"], (*arch)->big_endian ? "big" : "little");
    EXPECT_EQ(info["pointer_bits"], (*arch)->bits);
    EXPECT_TRUE(info["ok"].get<bool>()) << info.dump();
    // The deterministic work comes out the same on every arch.
    std::string work = info["int_checksum"].get<std::string>() +
                       info["float_checksum"].get<std::string>() +
                       info["sha256"].get<std::string>();
    if (golden.empty()) golden = work;
    EXPECT_EQ(work, golden);
    if (img["busybox"].get<bool>()) {
      auto sh = RunProcess({img["bundle"].get<std::string>() + "/rootfs/bin/busybox", "sh", "-c",
                            "echo $((6*7)) | sha256sum | cut -c1-8"},
                           std::chrono::seconds(60));
      ASSERT_TRUE(sh.ok());
      EXPECT_EQ(sh->out.Text(), host_sh->out.Text()) << sh->err.Text();
    }
  }
}

TEST_F(ImagesIntegrationTest, SecondBuildChangesNoDigestAndListAgrees) {
  auto again = RunPolyarch({"--state-dir", dir_->path(), "images", "build", "--json"});
  ASSERT_EQ(again.exit_code, 0);
  json second = StdoutJson(again);
  EXPECT_EQ(second["index"]["digest"], (*built_)["index"]["digest"]);
  for (size_t i = 0; i < second["images"].size(); ++i) {
    EXPECT_FALSE(second["images"][i]["rebuilt"].get<bool>());
    EXPECT_EQ(second["images"][i]["manifest"], (*built_)["images"][i]["manifest"]);
  }
  auto list = RunPolyarch({"--state-dir", dir_->path(), "images", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err.Text();
  json listed = StdoutJson(list);
  EXPECT_EQ(listed["schema_version"], 1);
  ASSERT_EQ(listed["images"].size(), 9u);
  for (const auto& img : listed["images"]) {
    EXPECT_EQ(img["manifest"]["digest"].get<std::string>().rfind("sha256:", 0), 0u);
    EXPECT_GT(img["layer"]["size"].get<int64_t>(), 0);
    EXPECT_GT(img["docker_archive"]["size"].get<int64_t>(), 0);
  }
  // A fresh build elsewhere gives the same digests: the images are reproducible.
  auto other = RunPolyarch(
      {"--state-dir", dir_->path(), "images", "build", "--out", dir_->path() + "/other", "--json"});
  ASSERT_EQ(other.exit_code, 0);
  EXPECT_EQ(StdoutJson(other)["index"]["digest"], (*built_)["index"]["digest"]);
}

TEST_F(ImagesIntegrationTest, AWrongArchProbeIsRefusedWithExitTwo) {
  // The s390x probe filed as the arm probe.
  std::string probes = dir_->path() + "/bad-probes";
  ASSERT_TRUE(MakeDirs(probes + "/arm").ok());
  auto s390x = ReadFile((*built_)["images"][7]["bundle"].get<std::string>() + "/rootfs/probe");
  ASSERT_TRUE(s390x.ok());
  ASSERT_TRUE(WriteFileAtomic(probes + "/arm/probe", *s390x, 0755).ok());
  auto r = RunPolyarch({"--state-dir", dir_->path(), "images", "build", "--arch", "arm",
                        "--probe-dir", probes, "--out", dir_->path() + "/bad"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.Text().find("filed under arm"), std::string::npos) << r.err.Text();
}

TEST_F(ImagesIntegrationTest, MultiArchIndexImportsIntoARealContainerdWithEveryPlatform) {
  ContainerdOptions o;
  o.run_dir = dir_->path() + "/containerd-run";
  auto containerd = ContainerdDaemon::Start(o);
  ASSERT_TRUE(containerd.ok()) << containerd.status().ToString();
  const std::string ns = "polyarch-images-itest";
  auto import =
      RunProcess({"ctr", "--address", (*containerd)->address(), "-n", ns, "images", "import",
                  "--all-platforms", "--no-unpack", (*built_)["oci_archive"].get<std::string>()},
                 std::chrono::seconds(120));
  ASSERT_TRUE(import.ok());
  ASSERT_TRUE(import->success()) << import->Describe() << import->err.Text();
  auto ls = RunProcess({"ctr", "--address", (*containerd)->address(), "-n", ns, "images", "ls"},
                       std::chrono::seconds(30));
  ASSERT_TRUE(ls.ok() && ls->success());
  std::string listing = ls->out.Text();
  EXPECT_NE(listing.find("polyarch.local/test:all"), std::string::npos) << listing;
  EXPECT_NE(listing.find((*built_)["index"]["digest"].get<std::string>()), std::string::npos)
      << listing;
  for (const auto& img : (*built_)["images"]) {
    EXPECT_NE(listing.find(img["platform"].get<std::string>()), std::string::npos)
        << img["platform"] << " missing from: " << listing;
  }
  EXPECT_TRUE((*containerd)->Stop().ok());
}

TEST_F(ImagesIntegrationTest, ForeignDockerArchiveLoadsIntoARealDockerdWithItsArchitecture) {
  ContainerdOptions co;
  co.run_dir = dir_->path() + "/docker-run";
  auto containerd = ContainerdDaemon::Start(co);
  ASSERT_TRUE(containerd.ok()) << containerd.status().ToString();
  DockerdOptions o;
  o.run_dir = dir_->path() + "/docker-run";
  auto dockerd = DockerdDaemon::Start(o, (*containerd)->address());
  ASSERT_TRUE(dockerd.ok()) << dockerd.status().ToString();
  for (const char* arch : {"s390x", "arm"}) {
    SCOPED_TRACE(arch);
    const json* img = nullptr;
    for (const auto& i : (*built_)["images"]) {
      if (i["arch"] == arch) img = &i;
    }
    ASSERT_NE(img, nullptr);
    auto archive = ReadFile((*img)["docker_archive"]["path"].get<std::string>(), 64 << 20);
    ASSERT_TRUE(archive.ok());
    // What `docker load` sends.
    auto load = UnixHttpRequest((*dockerd)->address(), "POST", "/v1.41/images/load?quiet=1",
                                *archive, std::chrono::seconds(120), "application/x-tar");
    ASSERT_TRUE(load.ok()) << load.status().ToString();
    ASSERT_EQ(load->status, 200) << load->body;
    // What `docker image inspect` reads.
    auto inspect =
        UnixHttpRequest((*dockerd)->address(), "GET",
                        "/v1.41/images/" + (*img)["reference"].get<std::string>() + "/json", "",
                        std::chrono::seconds(30));
    ASSERT_TRUE(inspect.ok());
    ASSERT_EQ(inspect->status, 200) << inspect->body;
    json j = json::parse(inspect->body, nullptr, false);
    ASSERT_FALSE(j.is_discarded());
    auto expect = LookupArch(arch);
    EXPECT_EQ(j["Architecture"], (*expect)->oci_arch);
    EXPECT_EQ(j["Os"], "linux");
    if (!(*expect)->oci_variant.empty()) {
      EXPECT_EQ(j["Variant"], (*expect)->oci_variant);
    }
    EXPECT_EQ(j["Id"], (*img)["config"]["digest"]);
  }
  EXPECT_TRUE((*dockerd)->Stop().ok());
  EXPECT_TRUE((*containerd)->Stop().ok());
}

}  // namespace
}  // namespace polyarch
