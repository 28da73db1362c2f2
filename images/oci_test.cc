#include "images/oci.h"

#include <gtest/gtest.h>

#include "images/digest.h"

namespace polyarch {
namespace {

using nlohmann::json;

TEST(DigestTest, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Digest("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(OciTest, DocumentsCarryTheSpecsRequiredFields) {
  const ArchInfo* arm = *LookupArch("arm");
  Blob layer = MakeBlob("layer-bytes", kMediaTypeLayer);
  json config = ImageConfigJson(*arm, layer.descriptor.digest, {"/probe", "info"});
  EXPECT_TRUE(ValidateConfig(config).ok());
  EXPECT_EQ(config["architecture"], "arm");
  EXPECT_EQ(config["variant"], "v7");
  EXPECT_EQ(config["os"], "linux");
  EXPECT_EQ(config["rootfs"]["diff_ids"][0], layer.descriptor.digest);

  Blob cfg = MakeBlob(CanonicalJson(config), kMediaTypeConfig);
  json manifest = ManifestJson(cfg.descriptor, layer.descriptor);
  EXPECT_TRUE(ValidateManifest(manifest).ok());
  EXPECT_EQ(manifest["config"]["size"], static_cast<int64_t>(cfg.bytes.size()));
  EXPECT_EQ(manifest["layers"][0]["mediaType"], kMediaTypeLayer);

  Blob m = MakeBlob(CanonicalJson(manifest), kMediaTypeManifest);
  m.descriptor.platform = arm;
  Descriptor aarch64 = m.descriptor;
  aarch64.platform = *LookupArch("arm64");
  json index = IndexJson({m.descriptor, aarch64});
  EXPECT_TRUE(ValidateIndex(index).ok());
  EXPECT_EQ(index["manifests"][0]["platform"]["variant"], "v7");
  EXPECT_EQ(index["manifests"][1]["platform"]["architecture"], "arm64");
  EXPECT_EQ(index["manifests"][1]["platform"]["variant"], "v8");
  EXPECT_FALSE(index["manifests"][0].contains("annotations"));

  json top = LayoutIndexJson(MakeBlob(CanonicalJson(index), kMediaTypeIndex).descriptor,
                             "polyarch.local/test:all");
  EXPECT_TRUE(ValidateIndex(top).ok());
  EXPECT_EQ(top["manifests"][0]["annotations"][kAnnotationRefName], "all");
  EXPECT_EQ(top["manifests"][0]["annotations"][kAnnotationContainerdName],
            "polyarch.local/test:all");

  json docker = DockerManifestJson("c.json", "polyarch.local/test:arm", {"l/layer.tar"});
  ASSERT_TRUE(docker.is_array());
  EXPECT_EQ(docker[0]["RepoTags"][0], "polyarch.local/test:arm");
}

TEST(OciTest, ValidatorsNameTheBrokenField) {
  json m = {{"schemaVersion", 2},
            {"config", {{"mediaType", kMediaTypeConfig}, {"digest", "sha256:abc"}, {"size", 3}}},
            {"layers", json::array()}};
  Status s = ValidateManifest(m);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("manifest.config: field 'digest'"), std::string::npos) << s.message();
  EXPECT_NE(ValidateIndex({{"schemaVersion", 1}, {"manifests", json::array()}})
                .message()
                .find("schemaVersion"),
            std::string::npos);
  EXPECT_NE(ValidateConfig({{"architecture", "arm"}}).message().find("'os'"), std::string::npos);
  EXPECT_FALSE(ValidateIndex(json::array()).ok());
  json bad_platform = {{"schemaVersion", 2},
                       {"manifests",
                        {{{"mediaType", kMediaTypeManifest},
                          {"digest", Sha256Digest("x")},
                          {"size", 1},
                          {"platform", {{"os", "linux"}}}}}}};
  EXPECT_NE(ValidateIndex(bad_platform).message().find("platform"), std::string::npos);
}

TEST(OciTest, CanonicalJsonSortsKeys) {
  json a = {{"b", 1}, {"a", 2}};
  EXPECT_EQ(CanonicalJson(a), R"({"a":2,"b":1})");
}

}  // namespace
}  // namespace polyarch
