// The OCI runtime-spec config.json polyarch gives runtimes: the least a container needs to
// run a static program (its own pid, mount, ipc, uts and network namespaces, /proc, a small
// /dev), no capabilities, no privileges, no host network.
#ifndef POLYARCH_HARNESS_CORE_OCI_SPEC_H_
#define POLYARCH_HARNESS_CORE_OCI_SPEC_H_

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/core/spec_settings.h"

namespace polyarch {

struct OciSpecOptions {
  std::vector<std::string> args;
  std::vector<std::string> env = {"PATH=/bin:/sbin:/usr/bin:/usr/sbin:/"};
  std::string cwd = "/";
  std::string rootfs = "rootfs";  // relative to the bundle
  bool readonly_root = false;
  std::string hostname = "polyarch";
  std::string cgroups_path;  // "" lets the runtime choose
  bool tmp_tmpfs = false;    // a writable tmpfs at /tmp (the root itself may be read-only)
  std::map<std::string, std::string> annotations;
  const SpecSettings* settings = nullptr;  // applied last, over everything above
};

nlohmann::json MakeOciSpec(const OciSpecOptions& options);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_CORE_OCI_SPEC_H_
