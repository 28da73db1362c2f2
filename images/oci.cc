#include "images/oci.h"

#include "harness/core/json_int.h"
#include "images/digest.h"

namespace polyarch {

using nlohmann::json;

std::string CanonicalJson(const json& j) {
  // nlohmann's object is a std::map: keys come out sorted.
  return j.dump(-1, ' ', false, json::error_handler_t::strict);
}

json DescriptorJson(const Descriptor& d) {
  json j = {{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
  if (d.platform != nullptr) {
    j["platform"] = {{"architecture", d.platform->oci_arch}, {"os", "linux"}};
    if (!d.platform->oci_variant.empty()) j["platform"]["variant"] = d.platform->oci_variant;
  }
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  return j;
}

Blob MakeBlob(std::string bytes, std::string media_type) {
  Blob b;
  b.descriptor.media_type = std::move(media_type);
  b.descriptor.digest = Sha256Digest(bytes);
  b.descriptor.size = static_cast<int64_t>(bytes.size());
  b.bytes = std::move(bytes);
  return b;
}

json ImageConfigJson(const ArchInfo& arch, const std::string& layer_digest,
                     const std::vector<std::string>& cmd) {
  // A fixed creation time keeps the config digest reproducible.
  const char* created = "2000-01-01T00:00:00Z";
  json j = {{"architecture", arch.oci_arch},
            {"os", "linux"},
            {"created", created},
            {"config",
             {{"Env", {"PATH=/bin:/sbin:/usr/bin:/usr/sbin:/"}},
              {"Cmd", cmd},
              {"WorkingDir", "/"},
              {"Labels",
               {{"org.opencontainers.image.title", "polyarch test image"},
                {"io.polyarch.arch", arch.name},
                {"io.polyarch.uname-machine", arch.uname_machine}}}}},
            {"rootfs", {{"type", "layers"}, {"diff_ids", {layer_digest}}}},
            {"history", {{{"created", created}, {"created_by", "polyarch images build"}}}}};
  if (!arch.oci_variant.empty()) j["variant"] = arch.oci_variant;
  return j;
}

json ManifestJson(const Descriptor& config, const Descriptor& layer) {
  return {{"schemaVersion", 2},
          {"mediaType", kMediaTypeManifest},
          {"config", DescriptorJson(config)},
          {"layers", {DescriptorJson(layer)}}};
}

json IndexJson(const std::vector<Descriptor>& manifests) {
  json list = json::array();
  for (const auto& m : manifests) list.push_back(DescriptorJson(m));
  return {{"schemaVersion", 2}, {"mediaType", kMediaTypeIndex}, {"manifests", list}};
}

json LayoutIndexJson(const Descriptor& index, const std::string& name) {
  Descriptor d = index;
  d.annotations[kAnnotationRefName] = name.substr(name.rfind(':') + 1);
  d.annotations[kAnnotationContainerdName] = name;
  return {{"schemaVersion", 2}, {"manifests", {DescriptorJson(d)}}};
}

json DockerManifestJson(const std::string& config_path, const std::string& repo_tag,
                        const std::vector<std::string>& layer_paths) {
  return json::array(
      {{{"Config", config_path}, {"RepoTags", {repo_tag}}, {"Layers", layer_paths}}});
}

namespace {

bool IsDigest(const json& v) {
  if (!v.is_string()) return false;
  const std::string& s = v.get_ref<const std::string&>();
  if (s.rfind("sha256:", 0) != 0 || s.size() != 7 + 64) return false;
  return s.find_first_not_of("0123456789abcdef", 7) == std::string::npos;
}

Status Missing(const std::string& where, const std::string& field, const std::string& what) {
  return InvalidArgument(where + ": field '" + field + "' " + what);
}

}  // namespace

Status ValidateDescriptor(const json& j, const std::string& where) {
  if (!j.is_object()) return InvalidArgument(where + ": a descriptor must be an object");
  if (!j.contains("mediaType") || !j["mediaType"].is_string()) {
    return Missing(where, "mediaType", "is required and must be a string");
  }
  if (!j.contains("digest") || !IsDigest(j["digest"])) {
    return Missing(where, "digest", "is required and must be sha256:<64 hex>");
  }
  if (!j.contains("size") || JsonInteger<int64_t>(j["size"]).value_or(-1) < 0) {
    return Missing(where, "size", "is required and must be a non-negative integer");
  }
  if (j.contains("platform")) {
    const json& p = j["platform"];
    if (!p.is_object() || !p.contains("architecture") || !p["architecture"].is_string() ||
        !p.contains("os") || !p["os"].is_string()) {
      return Missing(where, "platform", "must carry string architecture and os");
    }
  }
  return Status::Ok();
}

Status ValidateManifest(const json& j) {
  if (!j.is_object()) return InvalidArgument("manifest: not a JSON object");
  if (!j.contains("schemaVersion") || j["schemaVersion"] != 2) {
    return Missing("manifest", "schemaVersion", "must be 2");
  }
  if (j.contains("mediaType") && j["mediaType"] != kMediaTypeManifest) {
    return Missing("manifest", "mediaType", "must be " + std::string(kMediaTypeManifest));
  }
  if (!j.contains("config")) return Missing("manifest", "config", "is required");
  PA_RETURN_IF_ERROR(ValidateDescriptor(j["config"], "manifest.config"));
  if (!j.contains("layers") || !j["layers"].is_array()) {
    return Missing("manifest", "layers", "is required and must be an array");
  }
  for (size_t i = 0; i < j["layers"].size(); ++i) {
    PA_RETURN_IF_ERROR(
        ValidateDescriptor(j["layers"][i], "manifest.layers[" + std::to_string(i) + "]"));
  }
  return Status::Ok();
}

Status ValidateIndex(const json& j) {
  if (!j.is_object()) return InvalidArgument("index: not a JSON object");
  if (!j.contains("schemaVersion") || j["schemaVersion"] != 2) {
    return Missing("index", "schemaVersion", "must be 2");
  }
  if (!j.contains("manifests") || !j["manifests"].is_array()) {
    return Missing("index", "manifests", "is required and must be an array");
  }
  for (size_t i = 0; i < j["manifests"].size(); ++i) {
    PA_RETURN_IF_ERROR(
        ValidateDescriptor(j["manifests"][i], "index.manifests[" + std::to_string(i) + "]"));
  }
  return Status::Ok();
}

Status ValidateConfig(const json& j) {
  if (!j.is_object()) return InvalidArgument("config: not a JSON object");
  for (const char* f : {"architecture", "os"}) {
    if (!j.contains(f) || !j[f].is_string()) return Missing("config", f, "is required");
  }
  // Not value("type", ""): it throws when "type" is there but not a string.
  if (!j.contains("rootfs") || !j["rootfs"].is_object() || !j["rootfs"].contains("type") ||
      j["rootfs"]["type"] != "layers" || !j["rootfs"].contains("diff_ids") ||
      !j["rootfs"]["diff_ids"].is_array()) {
    return Missing("config", "rootfs", "must be {type: layers, diff_ids: [...]}");
  }
  for (const auto& d : j["rootfs"]["diff_ids"]) {
    if (!IsDigest(d)) return Missing("config", "rootfs.diff_ids", "must hold sha256 digests");
  }
  return Status::Ok();
}

}  // namespace polyarch
