#include "harness/core/spec_settings.h"

namespace polyarch {

using nlohmann::json;

uint32_t SpecSettings::Used() const {
  uint32_t u = 0;
  auto bit = [&u](bool set, uint32_t b) {
    if (set) u |= b;
  };
  bit(cwd.has_value(), kSetCwd);
  bit(uid.has_value() || gid.has_value(), kSetUser);
  bit(!additional_gids.empty(), kSetAdditionalGids);
  bit(umask.has_value(), kSetUmask);
  bit(capabilities.has_value(), kSetCapabilities);
  bit(capability_set.has_value(), kSetCapabilitySet);
  bit(no_new_privileges.has_value(), kSetNoNewPrivileges);
  bit(!rlimits.empty(), kSetRlimits);
  bit(oom_score_adj.has_value(), kSetOomScoreAdj);
  bit(hostname.has_value(), kSetHostname);
  bit(domainname.has_value(), kSetDomainname);
  bit(readonly_root.has_value(), kSetReadonlyRoot);
  bool only_tmpfs = true;
  for (const auto& m : mounts) only_tmpfs = only_tmpfs && m.type == "tmpfs";
  bit(!mounts.empty(), only_tmpfs ? kSetTmpfsMounts : kSetMounts);
  bit(namespaces.has_value(), kSetNamespaces);
  bit(!uid_mappings.empty() || !gid_mappings.empty(), kSetUserNamespace);
  bit(!sysctl.empty(), kSetSysctl);
  bit(!devices.empty(), kSetDevices);
  bit(masked_paths.has_value(), kSetMaskedPaths);
  bit(readonly_paths.has_value(), kSetReadonlyPaths);
  bit(rootfs_propagation.has_value(), kSetRootfsPropagation);
  bit(cgroup_limits.has_value(), kSetCgroupLimits);
  bit(blkio.has_value(), kSetBlkio);
  bit(cgroups_path.has_value(), kSetCgroupsPath);
  bit(seccomp.has_value(), kSetSeccomp);
  bit(!annotations.empty(), kSetAnnotations);
  bit(!hooks.empty(), kSetHooks);
  return u;
}

namespace {

json MountJson(const MountSetting& m) {
  json j = {{"destination", m.destination}, {"type", m.type}, {"source", m.source}};
  if (!m.options.empty()) j["options"] = m.options;
  return j;
}

json MappingsJson(const std::vector<IdMapping>& v) {
  json a = json::array();
  for (const auto& m : v) {
    a.push_back({{"containerID", m.container_id}, {"hostID", m.host_id}, {"size", m.size}});
  }
  return a;
}

}  // namespace

void ApplySpecSettings(const SpecSettings& s, json* config) {
  json& c = *config;
  json& p = c["process"];
  json& linux = c["linux"];
  if (s.cwd) p["cwd"] = *s.cwd;
  if (s.uid) p["user"]["uid"] = *s.uid;
  if (s.gid) p["user"]["gid"] = *s.gid;
  if (!s.additional_gids.empty()) p["user"]["additionalGids"] = s.additional_gids;
  if (s.umask) p["user"]["umask"] = *s.umask;
  if (s.capabilities) {
    p["capabilities"] = {{"bounding", s.capabilities->bounding},
                         {"effective", s.capabilities->effective},
                         {"permitted", s.capabilities->permitted},
                         {"inheritable", s.capabilities->inheritable},
                         {"ambient", s.capabilities->ambient}};
  } else if (s.capability_set) {
    p["capabilities"] = {{"bounding", *s.capability_set},
                         {"effective", *s.capability_set},
                         {"permitted", *s.capability_set},
                         {"inheritable", json::array()},
                         {"ambient", json::array()}};
  }
  if (s.no_new_privileges) p["noNewPrivileges"] = *s.no_new_privileges;
  if (!s.rlimits.empty()) {
    json a = json::array();
    for (const auto& r : s.rlimits)
      a.push_back({{"type", r.type}, {"soft", r.soft}, {"hard", r.hard}});
    p["rlimits"] = a;
  }
  if (s.oom_score_adj) p["oomScoreAdj"] = *s.oom_score_adj;
  if (s.hostname) c["hostname"] = *s.hostname;
  if (s.domainname) c["domainname"] = *s.domainname;
  if (s.readonly_root) c["root"]["readonly"] = *s.readonly_root;
  for (const auto& m : s.mounts) c["mounts"].push_back(MountJson(m));
  if (s.namespaces) {
    json a = json::array();
    for (const auto& n : *s.namespaces) {
      json e = {{"type", n.type}};
      if (!n.path.empty()) e["path"] = n.path;
      a.push_back(e);
    }
    linux["namespaces"] = a;
    // A host name is only the container's to set in a UTS namespace of its own.
    bool own_uts = false;
    for (const auto& n : *s.namespaces) own_uts = own_uts || (n.type == "uts" && n.path.empty());
    if (!own_uts) {
      c.erase("hostname");
      c.erase("domainname");
    }
  }
  if (!s.uid_mappings.empty()) linux["uidMappings"] = MappingsJson(s.uid_mappings);
  if (!s.gid_mappings.empty()) linux["gidMappings"] = MappingsJson(s.gid_mappings);
  if (!s.sysctl.empty()) linux["sysctl"] = s.sysctl;
  if (!s.devices.empty()) {
    json devices = json::array();
    // Everything denied but the configured devices: the runtime adds its default devices.
    json allow = json::array({{{"allow", false}, {"access", "rwm"}}});
    for (const auto& d : s.devices) {
      devices.push_back({{"path", d.path},
                         {"type", std::string(1, d.type)},
                         {"major", d.major},
                         {"minor", d.minor},
                         {"fileMode", d.file_mode},
                         {"uid", d.uid},
                         {"gid", d.gid}});
      allow.push_back({{"allow", true},
                       {"type", std::string(1, d.type)},
                       {"major", d.major},
                       {"minor", d.minor},
                       {"access", "rwm"}});
    }
    linux["devices"] = devices;
    linux["resources"]["devices"] = allow;
  }
  if (s.masked_paths) linux["maskedPaths"] = *s.masked_paths;
  if (s.readonly_paths) linux["readonlyPaths"] = *s.readonly_paths;
  if (s.rootfs_propagation) linux["rootfsPropagation"] = *s.rootfs_propagation;
  if (s.cgroups_path) linux["cgroupsPath"] = *s.cgroups_path;
  if (s.cgroup_limits) {
    const CgroupLimits& l = *s.cgroup_limits;
    json& r = linux["resources"];
    if (l.memory_limit) r["memory"]["limit"] = *l.memory_limit;
    if (l.cpu_shares) r["cpu"]["shares"] = *l.cpu_shares;
    if (l.cpu_quota) r["cpu"]["quota"] = *l.cpu_quota;
    if (l.cpu_period) r["cpu"]["period"] = *l.cpu_period;
    if (l.pids_limit) r["pids"]["limit"] = *l.pids_limit;
  }
  if (s.blkio) {
    auto devices = [](const std::vector<BlkioThrottle>& v) {
      json a = json::array();
      for (const auto& t : v)
        a.push_back({{"major", t.major}, {"minor", t.minor}, {"rate", t.rate}});
      return a;
    };
    json& b = linux["resources"]["blockIO"];
    if (!s.blkio->read_bps.empty()) b["throttleReadBpsDevice"] = devices(s.blkio->read_bps);
    if (!s.blkio->write_iops.empty()) b["throttleWriteIOPSDevice"] = devices(s.blkio->write_iops);
  }
  if (s.seccomp) {
    json rules = json::array();
    for (const auto& r : s.seccomp->rules) {
      rules.push_back(
          {{"names", {r.syscall}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", r.errno_ret}});
    }
    linux["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                        {"architectures", s.seccomp->architectures},
                        {"syscalls", rules}};
  }
  for (const auto& [k, v] : s.annotations) c["annotations"][k] = v;
  for (const auto& [stage, hooks] : s.hooks) {
    for (const auto& h : hooks) {
      json j = {{"path", h.path}};
      if (!h.args.empty()) j["args"] = h.args;
      if (!h.env.empty()) j["env"] = h.env;
      if (h.timeout) j["timeout"] = *h.timeout;
      c["hooks"][stage].push_back(j);
    }
  }
}

}  // namespace polyarch
