// Against the real kernel: registers, proves and removes entries under a prefix unique to
// this test process, with a private journal, so the host's own entries are never touched.
#include <unistd.h>

#include <glob.h>
#include <map>

#include <gtest/gtest.h>

#include "binfmt/entry.h"
#include "binfmt/procfs.h"
#include "binfmt/proof.h"
#include "cli_runner.h"
#include "harness/core/elf.h"
#include "harness/core/fs.h"

namespace polyarch {
namespace {

using testing::RunPolyarch;
using testing::StdoutJson;

std::map<std::string, std::string> Snapshot(RealProcFs& procfs) {
  std::map<std::string, std::string> all;
  auto names = procfs.ListEntries();
  if (!names.ok()) return all;
  for (const auto& n : *names) {
    auto text = procfs.ReadEntry(n);
    if (text.ok()) all[n] = *text;
  }
  return all;
}

class BinfmtIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    auto d = TempDir::Create("polyarch-binfmt-itest-");
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(*d));
    prefix_ = "pa-itest-" + std::to_string(::getpid()) + "-";
    ASSERT_TRUE(procfs_.Mount().ok());
  }

  void TearDown() override {
    if (!dir_) return;
    (void)RunPolyarch(Args({"binfmt", "uninstall", "--arch", "all", "--prefix", prefix_}));
    // Whatever this test registered under its own prefix goes, even if uninstall failed.
    for (const auto& [name, text] : Snapshot(procfs_)) {
      if (name.rfind(prefix_, 0) == 0) (void)procfs_.RemoveEntry(name);
    }
    if (!foreign_.empty()) (void)procfs_.RemoveEntry(foreign_);
  }

  std::vector<std::string> Args(std::vector<std::string> rest) {
    rest.insert(rest.begin(), {"--state-dir", dir_->path()});
    return rest;
  }

  std::unique_ptr<TempDir> dir_;
  std::string prefix_;
  std::string foreign_;
  RealProcFs procfs_;
};

TEST_F(BinfmtIntegrationTest, InstallAllProvesEveryArchAndUninstallRestoresTheHost) {
  // Another owner's entry, registered before polyarch runs, must come out byte-identical.
  foreign_ = "pa-foreign-" + std::to_string(::getpid());
  ASSERT_TRUE(procfs_
                  .Register(":" + foreign_ +
                            ":M::\\x50\\x41\\x46\\x4f\\x52\\x45\\x49\\x47\\x4e::/bin/true:")
                  .ok());
  auto before = Snapshot(procfs_);

  auto install =
      RunPolyarch(Args({"binfmt", "install", "--arch", "all", "--prefix", prefix_, "--json"}));
  ASSERT_EQ(install.exit_code, 0) << install.out.Text() << install.err.Text();
  auto doc = StdoutJson(install);
  ASSERT_FALSE(doc.is_discarded()) << install.out.Text();
  EXPECT_EQ(doc["schema_version"], 1);
  ASSERT_EQ(doc["entries"].size(), 9u);
  for (const auto& e : doc["entries"]) {
    EXPECT_EQ(e["action"], "registered") << e.dump();
    EXPECT_EQ(e["flags"], "F");
    EXPECT_TRUE(e["proof"]["proven"].get<bool>()) << e.dump();
    EXPECT_TRUE(e["proof"]["empty_root"]["ok"].get<bool>()) << e.dump();
  }
  EXPECT_TRUE(doc["native"]["runs_natively"].get<bool>());

  auto status = RunPolyarch(Args({"binfmt", "status", "--json"}));
  auto st = StdoutJson(status);
  ASSERT_FALSE(st.is_discarded()) << status.out.Text() << status.err.Text();
  std::vector<std::string> arches;
  for (const auto& a : st["arches"]) {
    arches.push_back(a["arch"]);
    bool found = false;
    for (const auto& e : a["entries"]) {
      if (e["name"] != prefix_ + a["arch"].get<std::string>()) continue;
      found = true;
      EXPECT_EQ(e["owner"], "polyarch");
      EXPECT_EQ(e["flags"], "F");
      EXPECT_TRUE(e["enabled"].get<bool>());
    }
    EXPECT_TRUE(found) << a.dump();
    EXPECT_TRUE(a["registered"].get<bool>());
    EXPECT_TRUE(a["execution_proven"].get<bool>()) << a.dump();
  }
  EXPECT_EQ(arches, (std::vector<std::string>{"arm", "aarch64", "mips", "mipsel", "mips64",
                                              "mips64el", "ppc64le", "s390x", "riscv64"}));

  // What the kernel holds equals QEMU 7.2's magic and mask as Debian ships them.
  int compared = 0;
  for (const ArchInfo& a : AllArches()) {
    if (!a.has_binfmt()) continue;
    auto text = procfs_.ReadEntry(prefix_ + std::string(a.name));
    ASSERT_TRUE(text.ok());
    auto k = ParseKernelEntry(prefix_ + std::string(a.name), *text);
    ASSERT_TRUE(k.ok());
    auto conf = ReadFile("/usr/lib/binfmt.d/qemu-" + std::string(a.qemu) + ".conf");
    ASSERT_TRUE(conf.ok()) << "qemu-user-static's binfmt.d files are part of the set-up";
    auto debian = ParseRegistration(conf->substr(0, conf->find('\n')));
    ASSERT_TRUE(debian.ok());
    EXPECT_EQ(HexBytes(k->mask), HexBytes(debian->mask)) << a.name;
    std::string masked = debian->magic;
    for (size_t i = 0; i < masked.size(); ++i) masked[i] &= debian->mask[i];
    std::string kernel_masked = k->magic;
    for (size_t i = 0; i < kernel_masked.size(); ++i) kernel_masked[i] &= k->mask[i];
    EXPECT_EQ(HexBytes(kernel_masked), HexBytes(masked)) << a.name;
    ++compared;
  }
  EXPECT_EQ(compared, 9);

  // A second install is a no-op.
  auto during = Snapshot(procfs_);
  auto again = RunPolyarch(
      Args({"binfmt", "install", "--arch", "all", "--prefix", prefix_, "--json", "--no-prove"}));
  ASSERT_EQ(again.exit_code, 0) << again.err.Text();
  const nlohmann::json again_out =
      StdoutJson(again);  // a range-for over a temporary's member dangles
  ASSERT_EQ(again_out["entries"].size(), 9u);
  for (const auto& e : again_out["entries"]) EXPECT_EQ(e["action"], "already_present");
  EXPECT_EQ(Snapshot(procfs_), during);

  auto uninstall =
      RunPolyarch(Args({"binfmt", "uninstall", "--arch", "all", "--prefix", prefix_, "--json"}));
  ASSERT_EQ(uninstall.exit_code, 0) << uninstall.out.Text() << uninstall.err.Text();
  auto removed = StdoutJson(uninstall)["entries"];
  ASSERT_EQ(removed.size(), 9u);
  for (const auto& e : removed) EXPECT_EQ(e["action"], "removed");
  EXPECT_EQ(Snapshot(procfs_), before) << "uninstall must remove exactly what install added";
}

TEST_F(BinfmtIntegrationTest, ForeignBusyboxRunsThroughTheRegisteredHandler) {
  glob_t g{};
  const char* pattern = "/var/cache/polyarch/debs/busybox-static_*_s390x.deb";
  bool have = ::glob(pattern, 0, nullptr, &g) == 0 && g.gl_pathc > 0;
  std::string deb = have ? g.gl_pathv[0] : "";
  ::globfree(&g);
  ASSERT_TRUE(have) << "ci/setup.sh fetches " << pattern;
  auto install = RunPolyarch(Args({"binfmt", "install", "--arch", "s390x", "--prefix", prefix_}));
  ASSERT_EQ(install.exit_code, 0) << install.out.Text() << install.err.Text();
  auto x = RunProcess({"dpkg-deb", "-x", deb, dir_->path() + "/bb"}, std::chrono::seconds(60));
  ASSERT_TRUE(x.ok() && x->success());
  std::string busybox = dir_->path() + "/bb/bin/busybox";
  auto info = ReadElf(busybox);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->machine, 22);  // s390
  auto r = RunProcess({busybox, "sh", "-c", "echo $((6*7)) $(uname -m)"}, std::chrono::seconds(60));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out.Text(), "42 s390x\n") << r->err.Text();
}

TEST_F(BinfmtIntegrationTest, BadInputWritesNothing) {
  auto before = Snapshot(procfs_);
  auto sparc = RunPolyarch(Args({"binfmt", "install", "--arch", "sparc9", "--prefix", prefix_}));
  EXPECT_EQ(sparc.exit_code, 2);
  EXPECT_NE(sparc.err.Text().find("unknown architecture 'sparc9'"), std::string::npos)
      << sparc.err.Text();
  auto flags = RunPolyarch(
      Args({"binfmt", "install", "--arch", "s390x", "--flags", "FQ", "--prefix", prefix_}));
  EXPECT_EQ(flags.exit_code, 2);
  EXPECT_NE(flags.err.Text().find("'Q'"), std::string::npos) << flags.err.Text();
  auto emu = RunPolyarch(Args({"binfmt", "install", "--arch", "all", "--emulator-dir",
                               "/nonexistent", "--prefix", prefix_}));
  EXPECT_EQ(emu.exit_code, 2);
  EXPECT_NE(emu.err.Text().find("does not exist"), std::string::npos) << emu.err.Text();
  auto host = RunPolyarch(
      Args({"binfmt", "install", "--arch", std::string(HostArch()->name), "--prefix", prefix_}));
  EXPECT_EQ(host.exit_code, 2);
  EXPECT_EQ(Snapshot(procfs_), before);
}

TEST_F(BinfmtIntegrationTest, ConflictIsReportedAndLeftAlone) {
  const ArchInfo* arm = *LookupArch("arm");
  std::string theirs = ":" + prefix_ + "arm:M::" + EscapeBytes(arm->magic) + ":" +
                       EscapeBytes(arm->mask) + ":/usr/bin/qemu-arm-static:";
  ASSERT_TRUE(procfs_.Register(theirs).ok());
  auto before = *procfs_.ReadEntry(prefix_ + "arm");
  auto r = RunPolyarch(Args({"binfmt", "install", "--arch", "arm", "--prefix", prefix_, "--json"}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(StdoutJson(r)["entries"][0]["action"], "conflict");
  EXPECT_EQ(*procfs_.ReadEntry(prefix_ + "arm"), before);
  // Not polyarch's: uninstall leaves it.
  auto u =
      RunPolyarch(Args({"binfmt", "uninstall", "--arch", "arm", "--prefix", prefix_, "--json"}));
  EXPECT_EQ(StdoutJson(u)["entries"][0]["action"], "not_owned_left_alone");
  EXPECT_EQ(*procfs_.ReadEntry(prefix_ + "arm"), before);
}

TEST_F(BinfmtIntegrationTest, WithoutFTheEmptyRootCannotReachTheEmulator) {
  auto r = RunPolyarch(Args(
      {"binfmt", "install", "--arch", "riscv64", "--flags", "P", "--prefix", prefix_, "--json"}));
  auto doc = StdoutJson(r);
  ASSERT_FALSE(doc.is_discarded()) << r.err.Text();
  const auto& proof = doc["entries"][0]["proof"];
  EXPECT_TRUE(proof["host"]["ok"].get<bool>()) << proof.dump();
  EXPECT_FALSE(proof["empty_root"]["ok"].get<bool>()) << proof.dump();
  EXPECT_FALSE(proof["empty_root"]["required"].get<bool>());
  EXPECT_EQ(r.exit_code, 0);
}

TEST_F(BinfmtIntegrationTest, ExportWritesFilesTheKernelAccepts) {
  auto r = RunPolyarch(Args({"binfmt", "export", "--dir", dir_->path() + "/binfmt.d", "--arch",
                             "s390x,arm64", "--prefix", prefix_}));
  ASSERT_EQ(r.exit_code, 0) << r.err.Text();
  auto conf = ReadFile(dir_->path() + "/binfmt.d/" + prefix_ + "s390x.conf");
  ASSERT_TRUE(conf.ok());
  std::string line = conf->substr(conf->rfind('\n', conf->size() - 2) + 1);
  line.pop_back();
  // The exported line registers as is.
  ASSERT_TRUE(procfs_.Register(line).ok()) << line;
  EXPECT_TRUE(procfs_.ReadEntry(prefix_ + "s390x").ok());
}

}  // namespace
}  // namespace polyarch
