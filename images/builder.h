// `polyarch images build`: one tiny image per architecture, built locally with no registry.
//
// Each image is one layer holding Debian's busybox-static for the arch (where Debian 12 has
// it) with the applet links a shell test needs, and the static probe. It is written three
// ways: an OCI runtime bundle (rootfs/ + config.json) for runc and crun, an OCI image layout
// with one multi-arch index over every arch, and a docker-archive per arch for docker load.
// Layers are reproducible (sorted, fixed owner and mtime), so the same inputs give the same
// digests; an arch whose inputs did not change is not rebuilt.
#ifndef POLYARCH_IMAGES_BUILDER_H_
#define POLYARCH_IMAGES_BUILDER_H_

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "binfmt/arch.h"
#include "harness/core/status.h"
#include "images/archive.h"

namespace polyarch {

inline constexpr char kImageRepository[] = "polyarch.local/test";
inline constexpr char kDefaultDebDir[] = "/var/cache/polyarch/debs";

// Architectures that get an image: those with a probe cross compiler (and amd64).
std::vector<const ArchInfo*> ImageArches();
// Whether Debian 12 ships busybox-static for the arch (so the image must carry it).
bool ExpectsBusybox(const ArchInfo& arch);

struct ImageBuildOptions {
  std::vector<const ArchInfo*> arches;  // empty: ImageArches()
  std::string out_dir;
  std::string deb_dir = kDefaultDebDir;
  std::string probe_dir;  // <probe_dir>/<arch>/probe
  bool force = false;     // rebuild even when the inputs did not change
};

struct LayerFacts {
  std::string digest;
  int64_t size = 0;
};

struct BuiltImage {
  const ArchInfo* arch = nullptr;
  bool rebuilt = false;  // false: inputs unchanged, outputs reused
  bool busybox = false;
  std::string reference;  // polyarch.local/test:<arch>
  LayerFacts manifest, config, layer;
  std::string bundle_dir;      // <out>/bundles/<arch>: rootfs/ and config.json
  std::string docker_archive;  // <out>/docker/<arch>.tar
  int64_t docker_archive_size = 0;
};

struct ImageSet {
  std::string out_dir;
  std::vector<BuiltImage> images;
  std::string index_reference;  // polyarch.local/test:all
  LayerFacts index;
  std::string oci_layout;   // <out>/oci
  std::string oci_archive;  // <out>/oci.tar (the layout as one tar, for ctr import)
  const BuiltImage* Find(const ArchInfo* arch) const;
};

// The entries of the image's single layer for `arch`: busybox (if given) and applet links,
// the probe, the directories a container expects, /etc/passwd, /etc/group, and
// /etc/polyarch-image.json describing the image.
std::vector<FileEntry> ImageEntries(const ArchInfo& arch, const std::string& busybox,
                                    const std::string& probe);

// Refuses a binary whose ELF class, byte order or machine is not the arch it is filed under.
Status CheckBinaryArch(std::string_view bytes, const ArchInfo& arch, const std::string& what);

Result<ImageSet> BuildImages(const ImageBuildOptions& options);

// Reads what an earlier build wrote to `out_dir` (its images.json), checking every blob it
// names still exists with its size.
Result<ImageSet> LoadImageSet(const std::string& out_dir);

nlohmann::json ImageSetJson(const ImageSet& set);

}  // namespace polyarch

#endif  // POLYARCH_IMAGES_BUILDER_H_
