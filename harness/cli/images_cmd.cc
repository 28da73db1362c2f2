// polyarch images build | list
#include <unistd.h>

#include <chrono>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "binfmt/arch.h"
#include "harness/cli/cli.h"
#include "images/builder.h"

namespace polyarch {
namespace {

using nlohmann::json;

std::string Short(const std::string& digest) {
  return digest.substr(0, std::min<size_t>(digest.size(), 7 + 12));
}

std::string Size(int64_t bytes) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(1) << static_cast<double>(bytes) / (1024.0 * 1024.0)
    << " MiB";
  return o.str();
}

void PrintSet(const ImageSet& set, bool show_rebuilt) {
  std::cout << std::left << std::setw(10) << "ARCH" << std::setw(16) << "PLATFORM" << std::setw(12)
            << "BUSYBOX" << std::setw(22) << "MANIFEST" << std::setw(11) << "LAYER"
            << (show_rebuilt ? "BUILD" : "") << "\n";
  for (const auto& img : set.images) {
    std::cout << std::left << std::setw(10) << img.arch->name << std::setw(16)
              << img.arch->Platform() << std::setw(12) << (img.busybox ? "yes" : "no (probe)")
              << std::setw(22) << Short(img.manifest.digest) << std::setw(11)
              << Size(img.layer.size)
              << (show_rebuilt ? (img.rebuilt ? "built" : "up to date") : "") << "\n";
  }
  std::cout << "\nindex   " << set.index_reference << "  " << set.index.digest << "\n"
            << "layout  " << set.oci_layout << "  (tar: " << set.oci_archive << ")\n"
            << "bundles " << set.out_dir << "/bundles/<arch>   docker archives " << set.out_dir
            << "/docker/<arch>.tar\n";
}

}  // namespace

std::string DefaultProbeDir() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "probe";
  std::string exe(buf, static_cast<size_t>(n));
  return exe.substr(0, exe.rfind('/')) + "/probe";
}

void AddImagesCommand(CLI::App& app, const GlobalOptions& global, int& exit_code) {
  CLI::App* images = app.add_subcommand(
      "images", "Build and list the per-architecture test images (no registry involved)");
  images->require_subcommand(1);

  struct BuildOpts {
    std::string arch = "all";
    std::string out;
    std::string deb_dir = kDefaultDebDir;
    std::string probe_dir = DefaultProbeDir();
    bool force = false;
    bool json = false;
  };
  auto b = std::make_shared<BuildOpts>();
  CLI::App* build = images->add_subcommand(
      "build",
      "Build one image per architecture: busybox-static from Debian's package for that arch\n"
      "(where Debian 12 has one) with its applet links, plus the static probe. Writes an OCI\n"
      "runtime bundle per arch, one OCI image layout with a multi-arch index (also as\n"
      "oci.tar for ctr import), and a docker-archive per arch. Layers are reproducible; an\n"
      "arch whose inputs did not change is not rebuilt. Every binary's ELF header is checked\n"
      "against the arch it is filed under.\n"
      "Exit: 0 built, 2 bad input (unknown arch, wrong-arch binary), 3 inputs missing.");
  build
      ->add_option("--arch", b->arch,
                   "all (amd64, arm, aarch64, mips, mipsel, mips64el, ppc64le, s390x, riscv64) "
                   "or a list")
      ->capture_default_str();
  build->add_option("--out", b->out, "Output directory (default: <state-dir>/images)");
  build->add_option("--deb-dir", b->deb_dir, "Where ci/setup.sh left the busybox-static .debs")
      ->capture_default_str();
  build->add_option("--probe-dir", b->probe_dir, "Where the built probes are: <dir>/<arch>/probe")
      ->capture_default_str();
  build->add_flag("--force", b->force, "Rebuild every image even if its inputs are unchanged");
  build->add_flag("--json", b->json, "Print the image list as JSON");
  build->callback(Command(exit_code, [b, &global]() -> Result<int> {
    auto arches = ParseArchList(b->arch, ArchScope::kAll);
    if (!arches.ok()) return arches.status();
    ImageBuildOptions o;
    o.arches = b->arch == "all" ? std::vector<const ArchInfo*>{} : *arches;
    o.out_dir = b->out.empty() ? global.state_dir + "/images" : b->out;
    o.deb_dir = b->deb_dir;
    o.probe_dir = b->probe_dir;
    o.force = b->force;
    auto start = std::chrono::steady_clock::now();
    auto set = BuildImages(o);
    if (!set.ok()) return set.status();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - start)
                  .count();
    int rebuilt = 0;
    for (const auto& img : set->images) rebuilt += img.rebuilt;
    if (b->json) {
      std::cout << ImageSetJson(*set).dump(2) << "\n";
    } else {
      PrintSet(*set, true);
      std::cout << "\n"
                << (rebuilt == 0 ? "all images up to date"
                                 : std::to_string(rebuilt) + " built, " +
                                       std::to_string(set->images.size() - rebuilt) + " up to date")
                << " (" << ms << " ms)\n";
    }
    return kExitOk;
  }));

  struct ListOpts {
    std::string out;
    bool json = false;
  };
  auto l = std::make_shared<ListOpts>();
  CLI::App* list = images->add_subcommand(
      "list",
      "List the built images with their digests and sizes; changes nothing.\n"
      "Exit: 0 listed, 2 nothing built there, 3 the build output is damaged.");
  list->add_option("--out", l->out, "Image directory (default: <state-dir>/images)");
  list->add_flag("--json", l->json, "Print the list as JSON (schema_version 1)");
  list->callback(Command(exit_code, [l, &global]() -> Result<int> {
    auto set = LoadImageSet(l->out.empty() ? global.state_dir + "/images" : l->out);
    if (!set.ok()) return set.status();
    if (l->json) {
      json j = ImageSetJson(*set);
      for (auto& i : j["images"]) i.erase("rebuilt");
      std::cout << j.dump(2) << "\n";
    } else {
      PrintSet(*set, false);
    }
    return kExitOk;
  }));
}

}  // namespace polyarch
