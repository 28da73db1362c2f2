#include "images/builder.h"

#include <gtest/gtest.h>

#include "binfmt/proof.h"
#include "harness/core/fs.h"
#include "images/digest.h"
#include "images/oci.h"
#include "test_deb.h"

namespace polyarch {
namespace {

using nlohmann::json;

// Inputs that stand in for the real ones: per arch, a "busybox" .deb and a probe, both
// static ELF programs of that arch (polyarch's own exit programs).
class BuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("polyarch-builder-test-");
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(*d));
    for (const ArchInfo* a : ImageArches()) {
      ASSERT_TRUE(WriteProbe(*a, BuildExitElf(*a, 3)).ok());
      if (ExpectsBusybox(*a)) {
        std::string deb =
            dir_->path() + "/debs/busybox-static_1.0_" + std::string(a->debian) + ".deb";
        ASSERT_TRUE(MakeDirs(dir_->path() + "/debs").ok());
        ASSERT_TRUE(testing::WriteTestDeb(deb, {{"./bin/busybox", BuildExitElf(*a, 4)}}).ok());
      }
    }
  }

  Status WriteProbe(const ArchInfo& a, const std::string& bytes) {
    std::string p = dir_->path() + "/probes/" + std::string(a.name);
    PA_RETURN_IF_ERROR(MakeDirs(p));
    return WriteFileAtomic(p + "/probe", bytes, 0755);
  }

  ImageBuildOptions Options(const std::string& out) {
    ImageBuildOptions o;
    o.out_dir = dir_->path() + "/" + out;
    o.deb_dir = dir_->path() + "/debs";
    o.probe_dir = dir_->path() + "/probes";
    return o;
  }

  std::unique_ptr<TempDir> dir_;
};

TEST_F(BuilderTest, BuildsEveryArchInEveryFormAndTheLayoutValidates) {
  auto set = BuildImages(Options("out"));
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->images.size(), 9u);
  const std::string layout = set->oci_layout;
  auto top = json::parse(*ReadFile(layout + "/index.json"));
  ASSERT_TRUE(ValidateIndex(top).ok());
  EXPECT_EQ(top["manifests"][0]["mediaType"], kMediaTypeIndex);
  std::string index_hex = top["manifests"][0]["digest"].get<std::string>().substr(7);
  std::string index_bytes = *ReadFile(layout + "/blobs/sha256/" + index_hex);
  EXPECT_EQ(Sha256Hex(index_bytes), index_hex) << "blobs are content-addressed";
  auto index = json::parse(index_bytes);
  ASSERT_TRUE(ValidateIndex(index).ok());
  ASSERT_EQ(index["manifests"].size(), 9u);
  for (const auto& m : index["manifests"]) {
    auto manifest = json::parse(
        *ReadFile(layout + "/blobs/sha256/" + m["digest"].get<std::string>().substr(7)));
    ASSERT_TRUE(ValidateManifest(manifest).ok());
    auto config = json::parse(*ReadFile(layout + "/blobs/sha256/" +
                                        manifest["config"]["digest"].get<std::string>().substr(7)));
    ASSERT_TRUE(ValidateConfig(config).ok());
    EXPECT_EQ(config["architecture"], m["platform"]["architecture"]);
  }
  for (const auto& img : set->images) {
    SCOPED_TRACE(std::string(img.arch->name));
    EXPECT_EQ(img.busybox, ExpectsBusybox(*img.arch));
    EXPECT_TRUE(PathExists(img.bundle_dir + "/config.json"));
    EXPECT_TRUE(PathExists(img.bundle_dir + "/rootfs/probe"));
    EXPECT_EQ(PathExists(img.bundle_dir + "/rootfs/bin/sh"), img.busybox);
    auto facts = json::parse(*ReadFile(img.bundle_dir + "/rootfs/etc/polyarch-image.json"));
    EXPECT_EQ(facts["uname_machine"], img.arch->uname_machine);
    EXPECT_TRUE(PathExists(img.docker_archive));
  }
  EXPECT_TRUE(PathExists(set->oci_archive));
}

TEST_F(BuilderTest, SameInputsGiveTheSameDigestsAndNoRebuild) {
  auto first = BuildImages(Options("a"));
  auto other = BuildImages(Options("b"));
  ASSERT_TRUE(first.ok() && other.ok());
  EXPECT_EQ(first->index.digest, other->index.digest);
  EXPECT_EQ(*ReadFile(first->oci_archive), *ReadFile(other->oci_archive));
  for (size_t i = 0; i < first->images.size(); ++i) {
    EXPECT_EQ(first->images[i].layer.digest, other->images[i].layer.digest);
    EXPECT_EQ(*ReadFile(first->images[i].docker_archive),
              *ReadFile(other->images[i].docker_archive));
  }
  auto again = BuildImages(Options("a"));
  ASSERT_TRUE(again.ok());
  for (const auto& img : again->images) EXPECT_FALSE(img.rebuilt) << img.arch->name;
  EXPECT_EQ(again->index.digest, first->index.digest);

  // A changed input rebuilds that arch alone.
  ASSERT_TRUE(WriteProbe(**LookupArch("s390x"), BuildExitElf(**LookupArch("s390x"), 9)).ok());
  auto changed = BuildImages(Options("a"));
  ASSERT_TRUE(changed.ok());
  for (const auto& img : changed->images) EXPECT_EQ(img.rebuilt, img.arch->name == "s390x");
  EXPECT_NE(changed->index.digest, first->index.digest);
  // images list reads back exactly what build reported.
  auto listed = LoadImageSet(dir_->path() + "/a");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(listed->index.digest, changed->index.digest);
  EXPECT_EQ(listed->images.size(), 9u);
}

TEST_F(BuilderTest, AWrongArchBinaryIsRefusedAndNothingIsWritten) {
  // An s390x program filed as the arm probe.
  ASSERT_TRUE(WriteProbe(**LookupArch("arm"), BuildExitElf(**LookupArch("s390x"))).ok());
  auto o = Options("wrong");
  o.arches = {*LookupArch("arm")};
  auto set = BuildImages(o);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), Code::kInvalidArgument);
  EXPECT_NE(set.status().message().find("filed under arm"), std::string::npos)
      << set.status().message();
  EXPECT_NE(set.status().message().find("s390"), std::string::npos);
  EXPECT_FALSE(PathExists(o.out_dir + "/images.json"));
  EXPECT_FALSE(PathExists(o.out_dir + "/bundles/arm"));
}

TEST_F(BuilderTest, MissingInputsNameTheFix) {
  auto o = Options("missing");
  o.deb_dir = dir_->path() + "/nowhere";
  o.arches = {*LookupArch("s390x")};
  auto set = BuildImages(o);
  ASSERT_FALSE(set.ok());
  EXPECT_NE(set.status().message().find("ci/setup.sh"), std::string::npos);
  // riscv64 needs no busybox: a missing .deb is fine for it.
  o.arches = {*LookupArch("riscv64")};
  EXPECT_TRUE(BuildImages(o).ok());
  o.probe_dir = dir_->path() + "/noprobes";
  EXPECT_NE(BuildImages(o).status().message().find("probe is not built"), std::string::npos);
  o.arches = {*LookupArch("mips64")};
  EXPECT_EQ(BuildImages(o).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(LoadImageSet(dir_->path() + "/never").status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace polyarch
