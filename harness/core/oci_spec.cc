#include "harness/core/oci_spec.h"

namespace polyarch {

nlohmann::json MakeOciSpec(const OciSpecOptions& o) {
  using nlohmann::json;
  json spec = {
      {"ociVersion", "1.0.2"},
      {"process",
       {{"terminal", false},
        {"user", {{"uid", 0}, {"gid", 0}}},
        {"args", o.args},
        {"env", o.env},
        {"cwd", o.cwd},
        {"noNewPrivileges", true},
        {"capabilities",
         {{"bounding", json::array()},
          {"effective", json::array()},
          {"permitted", json::array()},
          {"inheritable", json::array()},
          {"ambient", json::array()}}},
        {"rlimits", json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}})}}},
      {"root", {{"path", o.rootfs}, {"readonly", o.readonly_root}}},
      {"hostname", o.hostname},
      {"mounts", json::array({
                     {{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
                     {{"destination", "/dev"},
                      {"type", "tmpfs"},
                      {"source", "tmpfs"},
                      {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
                 })},
      {"linux",
       {{"namespaces", json::array({{{"type", "pid"}},
                                    {{"type", "mount"}},
                                    {{"type", "ipc"}},
                                    {{"type", "uts"}},
                                    {{"type", "network"}}})},
        {"maskedPaths", {"/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"}},
        {"readonlyPaths", {"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus"}}}},
  };
  if (!o.cgroups_path.empty()) spec["linux"]["cgroupsPath"] = o.cgroups_path;
  if (o.tmp_tmpfs) {
    spec["mounts"].push_back({{"destination", "/tmp"},
                              {"type", "tmpfs"},
                              {"source", "tmpfs"},
                              {"options", {"nosuid", "nodev", "mode=1777", "size=16m"}}});
  }
  if (!o.annotations.empty()) spec["annotations"] = o.annotations;
  if (o.settings != nullptr) ApplySpecSettings(*o.settings, &spec);
  return spec;
}

}  // namespace polyarch
