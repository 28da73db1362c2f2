// The JSON documents of an OCI image layout and of a docker-archive, built from plain values.
// Documents are serialized canonically (sorted keys, no whitespace), so their digests depend
// only on their content.
#ifndef POLYARCH_IMAGES_OCI_H_
#define POLYARCH_IMAGES_OCI_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "binfmt/arch.h"
#include "harness/core/status.h"

namespace polyarch {

inline constexpr char kMediaTypeIndex[] = "application/vnd.oci.image.index.v1+json";
inline constexpr char kMediaTypeManifest[] = "application/vnd.oci.image.manifest.v1+json";
inline constexpr char kMediaTypeConfig[] = "application/vnd.oci.image.config.v1+json";
inline constexpr char kMediaTypeLayer[] = "application/vnd.oci.image.layer.v1.tar";
inline constexpr char kAnnotationRefName[] = "org.opencontainers.image.ref.name";
inline constexpr char kAnnotationContainerdName[] = "io.containerd.image.name";

struct Descriptor {
  std::string media_type;
  std::string digest;  // "sha256:<hex>"
  int64_t size = 0;
  const ArchInfo* platform = nullptr;  // for manifests inside an index
  std::map<std::string, std::string> annotations;
};

// A serialized document and its descriptor.
struct Blob {
  std::string bytes;
  Descriptor descriptor;
};

std::string CanonicalJson(const nlohmann::json& j);
nlohmann::json DescriptorJson(const Descriptor& d);
Blob MakeBlob(std::string bytes, std::string media_type);

// Image config: architecture/variant/os, the default process, one layer's diff_id.
nlohmann::json ImageConfigJson(const ArchInfo& arch, const std::string& layer_digest,
                               const std::vector<std::string>& cmd);
nlohmann::json ManifestJson(const Descriptor& config, const Descriptor& layer);
nlohmann::json IndexJson(const std::vector<Descriptor>& manifests);
// index.json at the top of the layout: the multi-arch index under `name`.
nlohmann::json LayoutIndexJson(const Descriptor& index, const std::string& name);
// manifest.json of a docker-archive (docker load).
nlohmann::json DockerManifestJson(const std::string& config_path, const std::string& repo_tag,
                                  const std::vector<std::string>& layer_paths);

// Checks the fields the OCI image spec requires, with a message naming the field. Used on
// what polyarch writes (tests) and on layouts users hand to it.
Status ValidateManifest(const nlohmann::json& j);
Status ValidateIndex(const nlohmann::json& j);
Status ValidateConfig(const nlohmann::json& j);
Status ValidateDescriptor(const nlohmann::json& j, const std::string& where);

}  // namespace polyarch

#endif  // POLYARCH_IMAGES_OCI_H_
