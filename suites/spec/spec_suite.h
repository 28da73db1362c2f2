// The spec suite: whether the config a container was given is the config it gets, rule by
// rule of the OCI runtime specification (config.md, config-linux.md), through every layer that
// can express the setting and on every architecture.
//
// Rules share containers: each rule reads one of a few configs, and the first case of a
// (layer, arch, config) runs that config's container once; the others of the group read the
// same observation. The container runs `probe check`, which records what the process sees
// (its ids, capabilities, limits, mounts, namespaces, files) in /tmp, read from the host
// through /proc/<pid>/root, together with what the host sees of it (namespaces, cgroup
// limits, oom_score_adj). Each rule is a pure check of that observation against the settings
// (unit-tested without a stack), and a case cites the spec section and its level.
#ifndef POLYARCH_SUITES_SPEC_SPEC_SUITE_H_
#define POLYARCH_SUITES_SPEC_SPEC_SUITE_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/core/spec_settings.h"
#include "suites/suite.h"

namespace polyarch {

// The runtime-spec release whose text the rules cite.
inline constexpr char kSpecVersion[] = "v1.0.2";

// What one config's container showed.
struct SpecObservation {
  nlohmann::json record;  // the probe's check record (images/probe/README.md)
  // Seen from the host: "pid", "ns" (the container's, by type), "ns_runtime" (the caller's),
  // "ns_sibling" (the joined container's), "oom_score_adj", "parent_oom_score_adj",
  // "cgroup" {controller: {"path": ..., file: content}}, "hooks" {stage: the state the hook
  // read on stdin, "order": the stages in the order they ran} (read after the delete).
  nlohmann::json host = nlohmann::json::object();
  SpecSettings settings;               // what the container was given
  std::vector<std::string> args, env;  // its process's arguments and the environment added
  std::string id;                      // its container id
};

// A config: the settings for a layer (what it can express of them), the extra probe checks
// it needs, whether it joins the namespaces of a sibling container.
struct SpecConfig {
  std::string name;
  // `caps`: the layer's; `id`: the container's; `sibling_pid`: the sibling's host pid (0 when
  // the config has none); `scratch`: a host directory of the container's own (hook records).
  std::function<SpecSettings(const Capabilities& caps, const std::string& id, int sibling_pid,
                             const std::string& scratch)>
      settings;
  std::vector<std::string> probe_args;  // after `probe check`
  bool sibling = false;
  std::vector<std::string> env;  // "K=V" added to the process's environment
};

struct SpecRule {
  std::string name;     // the case name
  std::string config;   // the SpecConfig it reads
  std::string section;  // "config.md#process" (file#anchor of the spec)
  std::string level;    // "MUST", "SHOULD", or "defines" (the field's stated meaning)
  std::string text;     // what the spec requires, in polyarch's words
  uint32_t settings = 0, settings_any = 0;  // as CaseDef
  // "" when the observation satisfies the rule; otherwise what was seen instead, or "SKIP: "
  // and why the host cannot show it.
  std::function<std::string(const SpecObservation&)> check;
  // Set instead of `check` (and `config` left "") for a rule that needs a container of its
  // own, e.g. one a failing hook must stop: runs it through the case and returns as `check`.
  std::function<std::string(CaseContext&)> own;
};

const std::vector<SpecConfig>& SpecConfigs();
const std::vector<SpecRule>& SpecRules();

// A CaseDef's spec_ref for `rule`: "OCI runtime-spec v1.0.2 config.md#process (MUST): ...".
std::string SpecRuleRef(const SpecRule& rule);

class SpecSuite : public Suite {
 public:
  SpecSuite();
  std::string_view name() const override { return "spec"; }
  std::vector<CaseDef> Cases() const override;

  struct Cache;  // one observation per (layer, arch, config, repeat)

 private:
  std::shared_ptr<Cache> cache_;
};

}  // namespace polyarch

#endif  // POLYARCH_SUITES_SPEC_SPEC_SUITE_H_
