#include "images/builder.h"

#include <dirent.h>
#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <set>

#include "harness/core/elf.h"
#include "harness/core/fs.h"
#include "harness/core/oci_spec.h"
#include "images/digest.h"
#include "images/oci.h"

namespace polyarch {
namespace {

using nlohmann::json;

// Bumped whenever the builder would write different bytes from the same inputs, so cached
// images are rebuilt.
constexpr char kBuilderVersion[] = "polyarch-images-1";
constexpr int kImagesSchemaVersion = 1;

// The applets the suites' shell workloads use; each becomes /bin/<name> -> busybox.
constexpr const char* kApplets[] = {
    "[",      "awk",      "basename", "cat",      "chmod", "cp",    "cut",    "date",
    "dd",     "dirname",  "echo",     "env",      "expr",  "false", "find",   "grep",
    "gunzip", "gzip",     "head",     "hostname", "id",    "kill",  "ln",     "ls",
    "md5sum", "mkdir",    "mktemp",   "mv",       "nproc", "od",    "printf", "ps",
    "pwd",    "readlink", "rm",       "rmdir",    "sed",   "seq",   "sh",     "sha256sum",
    "sleep",  "sort",     "stat",     "sync",     "tail",  "tar",   "tee",    "test",
    "touch",  "tr",       "true",     "uname",    "uniq",  "wc",    "xargs",  "yes"};

std::string Hex(const std::string& digest) { return digest.substr(digest.find(':') + 1); }

Result<std::string> FindDeb(const std::string& deb_dir, const ArchInfo& arch) {
  if (arch.debian.empty()) return NotFound("Debian 12 has no " + std::string(arch.name));
  std::string pattern = deb_dir + "/busybox-static_*_" + std::string(arch.debian) + ".deb";
  glob_t g{};
  std::string found;
  if (::glob(pattern.c_str(), 0, nullptr, &g) == 0 && g.gl_pathc > 0) {
    found = g.gl_pathv[g.gl_pathc - 1];  // sorted: the newest version sorts last
  }
  ::globfree(&g);
  if (found.empty()) return NotFound("no " + pattern);
  return found;
}

json FactsJson(const LayerFacts& f) { return {{"digest", f.digest}, {"size", f.size}}; }
LayerFacts FactsFrom(const json& j) {
  LayerFacts f;
  if (j.is_object()) {
    f.digest = j.value("digest", "");
    f.size = j.value("size", int64_t{0});
  }
  return f;
}

std::string BlobPath(const std::string& layout, const std::string& digest) {
  return layout + "/blobs/sha256/" + Hex(digest);
}

bool BlobPresent(const std::string& layout, const LayerFacts& f) {
  struct stat st {};
  return !f.digest.empty() && ::stat(BlobPath(layout, f.digest).c_str(), &st) == 0 &&
         st.st_size == f.size;
}

Status WriteBlob(const std::string& layout, const Blob& b) {
  std::string path = BlobPath(layout, b.descriptor.digest);
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && st.st_size == b.descriptor.size) return Status::Ok();
  return WriteFileAtomic(path, b.bytes);
}

Descriptor DescriptorOf(const LayerFacts& f, const char* media_type,
                        const ArchInfo* platform = nullptr) {
  Descriptor d;
  d.media_type = media_type;
  d.digest = f.digest;
  d.size = f.size;
  d.platform = platform;
  return d;
}

// Builds one arch's image from scratch and writes all three forms of it.
Result<BuiltImage> BuildOne(const ArchInfo& arch, const std::string& busybox,
                            const std::string& probe, const std::string& out) {
  BuiltImage img;
  img.arch = &arch;
  img.rebuilt = true;
  img.busybox = !busybox.empty();
  img.reference = std::string(kImageRepository) + ":" + std::string(arch.name);
  const std::string layout = out + "/oci";

  PA_ASSIGN_OR_RETURN(std::string layer_bytes,
                      WriteReproducibleTar(ImageEntries(arch, busybox, probe)));
  Blob layer = MakeBlob(std::move(layer_bytes), kMediaTypeLayer);
  Blob config =
      MakeBlob(CanonicalJson(ImageConfigJson(arch, layer.descriptor.digest, {"/probe", "info"})),
               kMediaTypeConfig);
  Blob manifest = MakeBlob(CanonicalJson(ManifestJson(config.descriptor, layer.descriptor)),
                           kMediaTypeManifest);
  PA_RETURN_IF_ERROR(WriteBlob(layout, layer));
  PA_RETURN_IF_ERROR(WriteBlob(layout, config));
  PA_RETURN_IF_ERROR(WriteBlob(layout, manifest));
  img.layer = {layer.descriptor.digest, layer.descriptor.size};
  img.config = {config.descriptor.digest, config.descriptor.size};
  img.manifest = {manifest.descriptor.digest, manifest.descriptor.size};

  // The runtime bundle: a fresh rootfs, and a config.json running the probe's info.
  img.bundle_dir = out + "/bundles/" + std::string(arch.name);
  PA_RETURN_IF_ERROR(RemoveTree(img.bundle_dir + "/rootfs"));
  PA_RETURN_IF_ERROR(
      MaterializeEntries(img.bundle_dir + "/rootfs", ImageEntries(arch, busybox, probe)));
  OciSpecOptions spec;
  spec.args = {"/probe", "info"};
  PA_RETURN_IF_ERROR(WriteFileAtomic(img.bundle_dir + "/config.json", MakeOciSpec(spec).dump(2)));

  // docker load reads manifest.json, the config it names, and each layer's tar.
  img.docker_archive = out + "/docker/" + std::string(arch.name) + ".tar";
  PA_RETURN_IF_ERROR(MakeDirs(out + "/docker"));
  std::string config_name = Hex(config.descriptor.digest) + ".json";
  std::string layer_name = Hex(layer.descriptor.digest) + "/layer.tar";
  PA_RETURN_IF_ERROR(WriteTarFile(
      img.docker_archive, {{config_name, config.bytes},
                           {layer_name, layer.bytes},
                           {"manifest.json", CanonicalJson(DockerManifestJson(
                                                 config_name, img.reference, {layer_name}))}}));
  struct stat st {};
  if (::stat(img.docker_archive.c_str(), &st) == 0) img.docker_archive_size = st.st_size;
  return img;
}

json CacheJson(const std::string& key, const BuiltImage& img) {
  return {{"key", key},
          {"busybox", img.busybox},
          {"manifest", FactsJson(img.manifest)},
          {"config", FactsJson(img.config)},
          {"layer", FactsJson(img.layer)},
          {"docker_archive_size", img.docker_archive_size}};
}

// Reuses an earlier build when its inputs are the same and every output is still in place.
bool LoadCached(const std::string& out, const ArchInfo& arch, const std::string& key,
                BuiltImage* img) {
  auto text = ReadFile(out + "/cache/" + std::string(arch.name) + ".json");
  if (!text.ok()) return false;
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || j.value("key", "") != key) return false;
  img->arch = &arch;
  img->rebuilt = false;
  img->busybox = j.value("busybox", false);
  img->reference = std::string(kImageRepository) + ":" + std::string(arch.name);
  img->manifest = FactsFrom(j["manifest"]);
  img->config = FactsFrom(j["config"]);
  img->layer = FactsFrom(j["layer"]);
  img->docker_archive_size = j.value("docker_archive_size", int64_t{0});
  img->bundle_dir = out + "/bundles/" + std::string(arch.name);
  img->docker_archive = out + "/docker/" + std::string(arch.name) + ".tar";
  const std::string layout = out + "/oci";
  struct stat st {};
  return BlobPresent(layout, img->manifest) && BlobPresent(layout, img->config) &&
         BlobPresent(layout, img->layer) && PathExists(img->bundle_dir + "/config.json") &&
         PathExists(img->bundle_dir + "/rootfs/probe") &&
         ::stat(img->docker_archive.c_str(), &st) == 0 && st.st_size == img->docker_archive_size;
}

// Removes blobs no current image references (earlier builds' leftovers in polyarch's own
// output directory).
void CollectGarbage(const std::string& layout, const std::set<std::string>& keep) {
  std::string dir = layout + "/blobs/sha256";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  std::vector<std::string> drop;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name[0] == '.') continue;
    if (!keep.count(name)) drop.push_back(dir + "/" + name);
  }
  ::closedir(d);
  for (const auto& p : drop) ::unlink(p.c_str());
}

}  // namespace

std::vector<const ArchInfo*> ImageArches() {
  std::vector<const ArchInfo*> out;
  for (const ArchInfo& a : AllArches()) {
    if (a.name == "amd64" || !a.cross_prefix.empty()) out.push_back(&a);
  }
  return out;
}

bool ExpectsBusybox(const ArchInfo& arch) {
  static const std::set<std::string_view> kWith = {"amd64",    "arm",     "aarch64", "mipsel",
                                                   "mips64el", "ppc64le", "s390x"};
  return kWith.count(arch.name) > 0;
}

const BuiltImage* ImageSet::Find(const ArchInfo* arch) const {
  for (const auto& i : images) {
    if (i.arch == arch) return &i;
  }
  return nullptr;
}

std::vector<FileEntry> ImageEntries(const ArchInfo& arch, const std::string& busybox,
                                    const std::string& probe) {
  using T = FileEntry::Type;
  std::vector<FileEntry> e = {
      {"bin", T::kDir, 0755, ""},
      {"dev", T::kDir, 0755, ""},
      {"etc", T::kDir, 0755, ""},
      {"proc", T::kDir, 0555, ""},
      {"sys", T::kDir, 0555, ""},
      {"tmp", T::kDir, 01777, ""},
      {"run", T::kDir, 0755, ""},
      {"root", T::kDir, 0700, ""},
      {"var", T::kDir, 0755, ""},
      {"probe", T::kFile, 0755, probe},
      {"bin/probe", T::kSymlink, 0777, "../probe"},
      {"etc/passwd", T::kFile, 0644,
       "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"},
      {"etc/group", T::kFile, 0644, "root:x:0:\nnogroup:x:65534:\n"},
  };
  json facts = {{"arch", arch.name},
                {"platform", arch.Platform()},
                {"uname_machine", arch.uname_machine},
                {"bits", arch.bits},
                {"endianness", arch.big_endian ? "big" : "little"},
                {"busybox", !busybox.empty()}};
  e.push_back({"etc/polyarch-image.json", T::kFile, 0644, CanonicalJson(facts) + "\n"});
  if (!busybox.empty()) {
    e.push_back({"bin/busybox", T::kFile, 0755, busybox});
    for (const char* applet : kApplets) {
      e.push_back({std::string("bin/") + applet, T::kSymlink, 0777, "busybox"});
    }
  }
  return e;
}

Status CheckBinaryArch(std::string_view bytes, const ArchInfo& arch, const std::string& what) {
  auto info = ParseElf(bytes);
  if (!info.ok()) return InvalidArgument("refusing " + what + ": " + info.status().message());
  if (info->machine != arch.elf_machine || info->bits != arch.bits ||
      info->big_endian != arch.big_endian) {
    return InvalidArgument(
        "refusing " + what + ": it is " + info->Describe() + ", but it is filed under " +
        std::string(arch.name) + " (which needs ELF " + std::to_string(arch.bits) + "-bit " +
        (arch.big_endian ? "MSB" : "LSB") + ", machine " + std::to_string(arch.elf_machine) + ")");
  }
  if (!info->is_static()) {
    return InvalidArgument("refusing " + what +
                           ": it is dynamically linked; images hold only "
                           "static programs");
  }
  return Status::Ok();
}

Result<ImageSet> BuildImages(const ImageBuildOptions& options) {
  if (options.out_dir.empty()) return InvalidArgument("no output directory given");
  std::vector<const ArchInfo*> arches = options.arches.empty() ? ImageArches() : options.arches;
  auto all = ImageArches();
  for (const ArchInfo* a : arches) {
    if (std::find(all.begin(), all.end(), a) == all.end()) {
      return InvalidArgument("no image for " + std::string(a->name) +
                             ": polyarch has no cross compiler or busybox for it");
    }
  }
  // Every input is located and checked before anything is written.
  struct Inputs {
    const ArchInfo* arch;
    std::string deb, probe_path, key;
  };
  std::vector<Inputs> inputs;
  for (const ArchInfo* a : arches) {
    Inputs in{a, "", options.probe_dir + "/" + std::string(a->name) + "/probe", ""};
    if (!PathExists(in.probe_path)) {
      return FailedPrecondition("the " + std::string(a->name) + " probe is not built (" +
                                in.probe_path +
                                "): build the project (cmake --build) or pass "
                                "--probe-dir");
    }
    auto deb = FindDeb(options.deb_dir, *a);
    if (deb.ok()) {
      in.deb = *deb;
    } else if (ExpectsBusybox(*a)) {
      return FailedPrecondition("busybox-static for " + std::string(a->name) + " is missing (" +
                                deb.status().message() + "): run ci/setup.sh, which fetches it");
    }
    PA_ASSIGN_OR_RETURN(std::string probe_hex, Sha256FileHex(in.probe_path));
    std::string deb_hex;
    if (!in.deb.empty()) {
      PA_ASSIGN_OR_RETURN(deb_hex, Sha256FileHex(in.deb));
    }
    in.key = Sha256Hex(std::string(kBuilderVersion) + "\n" + std::string(a->name) + "\n" +
                       probe_hex + "\n" + deb_hex);
    inputs.push_back(std::move(in));
  }

  ImageSet set;
  set.out_dir = options.out_dir;
  set.oci_layout = options.out_dir + "/oci";
  set.oci_archive = options.out_dir + "/oci.tar";
  set.index_reference = std::string(kImageRepository) + ":all";
  PA_RETURN_IF_ERROR(MakeDirs(set.oci_layout + "/blobs/sha256"));
  PA_RETURN_IF_ERROR(MakeDirs(options.out_dir + "/cache"));

  for (const Inputs& in : inputs) {
    BuiltImage img;
    if (!options.force && LoadCached(options.out_dir, *in.arch, in.key, &img)) {
      set.images.push_back(std::move(img));
      continue;
    }
    std::string busybox;
    if (!in.deb.empty()) {
      PA_ASSIGN_OR_RETURN(busybox, ReadDebMember(in.deb, "./bin/busybox"));
      PA_RETURN_IF_ERROR(CheckBinaryArch(busybox, *in.arch, "busybox from " + in.deb));
    }
    PA_ASSIGN_OR_RETURN(std::string probe, ReadFile(in.probe_path));
    PA_RETURN_IF_ERROR(CheckBinaryArch(probe, *in.arch, "probe " + in.probe_path));
    PA_ASSIGN_OR_RETURN(img, BuildOne(*in.arch, busybox, probe, options.out_dir));
    PA_RETURN_IF_ERROR(
        WriteFileAtomic(options.out_dir + "/cache/" + std::string(in.arch->name) + ".json",
                        CacheJson(in.key, img).dump(2)));
    set.images.push_back(std::move(img));
  }

  // The multi-arch index over every image, and index.json naming it.
  std::vector<Descriptor> manifests;
  for (const auto& img : set.images) {
    manifests.push_back(DescriptorOf(img.manifest, kMediaTypeManifest, img.arch));
  }
  Blob index = MakeBlob(CanonicalJson(IndexJson(manifests)), kMediaTypeIndex);
  PA_RETURN_IF_ERROR(WriteBlob(set.oci_layout, index));
  set.index = {index.descriptor.digest, index.descriptor.size};
  std::string layout_index = CanonicalJson(LayoutIndexJson(index.descriptor, set.index_reference));
  const std::string oci_layout_file = CanonicalJson({{"imageLayoutVersion", "1.0.0"}});
  PA_RETURN_IF_ERROR(WriteFileAtomic(set.oci_layout + "/oci-layout", oci_layout_file));
  PA_RETURN_IF_ERROR(WriteFileAtomic(set.oci_layout + "/index.json", layout_index));

  std::set<std::string> keep = {Hex(index.descriptor.digest)};
  for (const auto& img : set.images) {
    keep.insert(Hex(img.manifest.digest));
    keep.insert(Hex(img.config.digest));
    keep.insert(Hex(img.layer.digest));
  }
  // The whole layout as one tar for `ctr images import`; rewritten only when it changed.
  auto previous = ReadFile(options.out_dir + "/images.json");
  bool same_index =
      previous.ok() && !json::parse(*previous, nullptr, false).is_discarded() &&
      json::parse(*previous, nullptr, false)["index"].value("digest", "") == set.index.digest;
  if (!same_index || !PathExists(set.oci_archive)) {
    std::vector<std::pair<std::string, std::string>> files = {{"oci-layout", oci_layout_file},
                                                              {"index.json", layout_index}};
    for (const auto& hex : keep) {
      PA_ASSIGN_OR_RETURN(std::string bytes,
                          ReadFile(set.oci_layout + "/blobs/sha256/" + hex, 512 << 20));
      files.emplace_back("blobs/sha256/" + hex, std::move(bytes));
    }
    PA_RETURN_IF_ERROR(WriteTarFile(set.oci_archive, files));
  }
  CollectGarbage(set.oci_layout, keep);
  PA_RETURN_IF_ERROR(WriteFileAtomic(options.out_dir + "/images.json", ImageSetJson(set).dump(2)));
  return set;
}

json ImageSetJson(const ImageSet& set) {
  json images = json::array();
  for (const auto& img : set.images) {
    images.push_back(
        {{"arch", img.arch->name},
         {"platform", img.arch->Platform()},
         {"reference", img.reference},
         {"busybox", img.busybox},
         {"manifest", FactsJson(img.manifest)},
         {"config", FactsJson(img.config)},
         {"layer", FactsJson(img.layer)},
         {"bundle", img.bundle_dir},
         {"docker_archive", {{"path", img.docker_archive}, {"size", img.docker_archive_size}}},
         {"rebuilt", img.rebuilt}});
  }
  return {{"schema_version", kImagesSchemaVersion},
          {"kind", "polyarch.images"},
          {"out_dir", set.out_dir},
          {"index",
           {{"reference", set.index_reference},
            {"digest", set.index.digest},
            {"size", set.index.size}}},
          {"oci_layout", set.oci_layout},
          {"oci_archive", set.oci_archive},
          {"images", images}};
}

Result<ImageSet> LoadImageSet(const std::string& out_dir) {
  auto text = ReadFile(out_dir + "/images.json");
  if (!text.ok()) {
    return NotFound("no images built in " + out_dir + " (run: polyarch images build)");
  }
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("schema_version", 0) != kImagesSchemaVersion ||
      !j.contains("images") || !j["images"].is_array()) {
    return InvalidArgument(out_dir +
                           "/images.json is not a polyarch image list; rebuild with "
                           "polyarch images build --force");
  }
  ImageSet set;
  set.out_dir = out_dir;
  set.oci_layout = j.value("oci_layout", out_dir + "/oci");
  set.oci_archive = j.value("oci_archive", out_dir + "/oci.tar");
  if (j.contains("index") && j["index"].is_object()) {
    set.index_reference = j["index"].value("reference", "");
    set.index = FactsFrom(j["index"]);
  }
  for (const auto& i : j["images"]) {
    if (!i.is_object()) return InvalidArgument(out_dir + "/images.json: an image is not an object");
    auto arch = LookupArch(i.value("arch", ""));
    if (!arch.ok()) return arch.status().WithContext(out_dir + "/images.json");
    BuiltImage img;
    img.arch = *arch;
    img.busybox = i.value("busybox", false);
    img.reference = i.value("reference", "");
    img.manifest = FactsFrom(i.value("manifest", json::object()));
    img.config = FactsFrom(i.value("config", json::object()));
    img.layer = FactsFrom(i.value("layer", json::object()));
    img.bundle_dir = i.value("bundle", "");
    if (i.contains("docker_archive") && i["docker_archive"].is_object()) {
      img.docker_archive = i["docker_archive"].value("path", "");
      img.docker_archive_size = i["docker_archive"].value("size", int64_t{0});
    }
    for (const LayerFacts* f : {&img.manifest, &img.config, &img.layer}) {
      if (!BlobPresent(set.oci_layout, *f)) {
        return FailedPrecondition("image " + img.reference + ": blob " + f->digest +
                                  " is missing from " + set.oci_layout +
                                  "; rebuild with polyarch images build --force");
      }
    }
    set.images.push_back(std::move(img));
  }
  return set;
}

}  // namespace polyarch
