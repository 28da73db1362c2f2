#include "harness/report/views.h"

#include <algorithm>

namespace polyarch {

void AddUnique(std::vector<std::string>* v, const std::string& s) {
  if (std::find(v->begin(), v->end(), s) == v->end()) v->push_back(s);
}

void StatusCounts::Add(CaseStatus s) { ++CounterOf(*this, s); }

CaseStatus StatusCounts::Worst() const {
  if (aborted) return CaseStatus::kAborted;
  if (error) return CaseStatus::kError;
  if (fail) return CaseStatus::kFail;
  if (xpass) return CaseStatus::kXpass;
  if (xfail) return CaseStatus::kXfail;
  if (skip && !pass) return CaseStatus::kSkip;
  return CaseStatus::kPass;
}

std::string RareCounts(const StatusCounts& c) {
  std::string s;
  for (auto [n, letter] : {std::pair{c.error, "E"}, std::pair{c.aborted, "A"},
                           std::pair{c.xfail, "XF"}, std::pair{c.xpass, "XP"}}) {
    if (n) s += std::string(" ") + letter + std::to_string(n);
  }
  return s;
}

const StatusCounts* StatusMatrix::Cell(const std::string& arch, const std::string& layer) const {
  auto it = cells.find({arch, layer});
  return it == cells.end() ? nullptr : &it->second;
}

StatusMatrix BuildStatusMatrix(const std::vector<CaseResult>& cases) {
  StatusMatrix m;
  for (const auto& c : cases) {
    AddUnique(&m.arches, c.arch);
    AddUnique(&m.layers, c.layer);
    m.cells[{c.arch, c.layer}].Add(c.status);
  }
  return m;
}

namespace {

// Cases of `status` grouped by key(reason), most frequent first (ties: first seen first).
template <typename Key>
std::vector<SkipGroup> GroupByReason(const std::vector<CaseResult>& cases, CaseStatus status,
                                     Key key) {
  std::vector<SkipGroup> groups;
  for (const auto& c : cases) {
    if (c.status != status) continue;
    const std::string k = key(c.reason);
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const SkipGroup& g) { return g.reason == k; });
    if (it == groups.end()) {
      groups.push_back({k, 1});
    } else {
      ++it->count;
    }
  }
  std::stable_sort(groups.begin(), groups.end(),
                   [](const SkipGroup& a, const SkipGroup& b) { return a.count > b.count; });
  return groups;
}

}  // namespace

std::vector<SkipGroup> GroupSkips(const std::vector<CaseResult>& cases) {
  return GroupByReason(cases, CaseStatus::kSkip, [](const std::string& r) { return r; });
}

std::vector<SkipGroup> GroupKnownDeviations(const std::vector<CaseResult>& cases) {
  return GroupByReason(cases, CaseStatus::kXfail, [](const std::string& r) {
    return r.substr(0, r.find(kObservedSeparator));
  });
}

std::vector<const CaseResult*> CasesWithStatus(const std::vector<CaseResult>& cases,
                                               CaseStatus status) {
  std::vector<const CaseResult*> out;
  for (const auto& c : cases) {
    if (c.status == status) out.push_back(&c);
  }
  return out;
}

std::vector<const CaseResult*> NotPassing(const std::vector<CaseResult>& cases) {
  std::vector<const CaseResult*> out;
  for (const auto& c : cases) {
    if (c.status == CaseStatus::kFail || c.status == CaseStatus::kError ||
        c.status == CaseStatus::kAborted) {
      out.push_back(&c);
    }
  }
  return out;
}

std::vector<LayerLatency> StepLatencyByLayer(const std::vector<CaseResult>& cases) {
  std::vector<std::string> layers;
  std::map<std::string, std::vector<std::string>> step_order;
  std::map<std::pair<std::string, std::string>, std::vector<double>> values;
  std::map<std::pair<std::string, std::string>, int> errors, refusals;
  for (const auto& c : cases) {
    if (c.steps.empty()) continue;
    AddUnique(&layers, c.layer);
    for (const auto& s : c.steps) {
      const std::string verb = StepVerb(s);
      AddUnique(&step_order[c.layer], verb);
      auto key = std::make_pair(c.layer, verb);
      if (s.ok) {
        values[key].push_back(static_cast<double>(s.duration_ns) / 1e6);
      } else if (s.expected_refusal) {
        ++refusals[key];
      } else {
        ++errors[key];
      }
    }
  }
  std::vector<LayerLatency> out;
  for (const auto& layer : layers) {
    LayerLatency l{layer, {}};
    for (const auto& step : step_order[layer]) {
      auto key = std::make_pair(layer, step);
      l.steps.push_back({step, ComputeDistribution(values[key]), errors[key], refusals[key]});
    }
    out.push_back(std::move(l));
  }
  return out;
}

nlohmann::json CrossArchTimings(const std::vector<CaseResult>& cases,
                                const std::string& native_arch) {
  nlohmann::json rows = nlohmann::json::array();
  auto metric = [](const CaseResult* c, const char* name) -> const double* {
    if (c == nullptr) return nullptr;
    auto it = c->metrics.find(name);
    return it == c->metrics.end() ? nullptr : &it->second;
  };
  // (layer, arch) -> its start_latency and probe_info_matches_native cases.
  std::map<std::pair<std::string, std::string>, const CaseResult*> start, probe;
  for (const auto& c : cases) {
    if (c.suite != "crossarch") continue;
    if (c.name == "start_latency") start[{c.layer, c.arch}] = &c;
    if (c.name == "probe_info_matches_native") probe[{c.layer, c.arch}] = &c;
  }
  for (const auto& c : cases) {
    if (c.suite != "crossarch" || c.name != "start_latency") continue;
    const double* emulated = metric(&c, "start_ms");
    if (emulated == nullptr) continue;
    nlohmann::json row = {{"layer", c.layer}, {"arch", c.arch}, {"emulated_start_ms", *emulated}};
    auto native_start = start.find({c.layer, native_arch});
    if (const double* v =
            metric(native_start == start.end() ? nullptr : native_start->second, "start_ms")) {
      row["native_start_ms"] = *v;
    }
    auto run = probe.find({c.layer, c.arch});
    if (const double* v = metric(run == probe.end() ? nullptr : run->second, "probe_run_ms")) {
      row["probe_run_ms"] = *v;
    }
    auto native_run = probe.find({c.layer, native_arch});
    if (const double* v =
            metric(native_run == probe.end() ? nullptr : native_run->second, "probe_run_ms")) {
      row["native_probe_run_ms"] = *v;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<std::string> ReportWarnings(const RunReport& report) {
  std::vector<std::string> out;
  if (!report.sections.is_object()) return out;
  auto it = report.sections.find("warnings");
  if (it == report.sections.end() || !it->is_array()) return out;
  for (const auto& w : *it) {
    if (w.is_string()) out.push_back(w.get<std::string>());
  }
  return out;
}

std::string ContextValue(const nlohmann::json& context, std::string_view dotted_path) {
  const nlohmann::json* j = &context;
  while (!dotted_path.empty()) {
    size_t dot = dotted_path.find('.');
    std::string key(dotted_path.substr(0, dot));
    dotted_path = dot == std::string_view::npos ? std::string_view() : dotted_path.substr(dot + 1);
    if (!j->is_object()) return "";
    auto it = j->find(key);
    if (it == j->end()) return "";
    j = &*it;
  }
  if (j->is_string()) return j->get<std::string>();
  if (j->is_number() || j->is_boolean()) return j->dump();
  return "";
}

std::vector<std::pair<std::string, std::string>> ContextBasics(const nlohmann::json& context) {
  std::vector<std::pair<std::string, std::string>> out;
  auto add = [&](const std::string& path) {
    std::string v = ContextValue(context, path);
    if (!v.empty()) out.emplace_back(path, std::move(v));
  };
  for (const char* path :
       {"host.node", "host.hostname", "host.machine_id", "host.kernel", "host.machine",
        "host.cpu_model", "host.cpus", "host.memory_bytes", "host.distro", "host.cgroup_mode",
        "polyarch.version", "polyarch.command_line", "polyarch.plan_fingerprint",
        "polyarch.shard.index", "polyarch.shard.count", "qemu.version"}) {
    add(path);
  }
  if (auto host = context.is_object() ? context.find("host") : context.end();
      host != context.end() && host->is_object()) {
    if (auto tools = host->find("tools"); tools != host->end() && tools->is_object()) {
      for (const auto& [name, value] : tools->items()) add("host.tools." + name);
    }
  }
  for (const char* group : {"runtimes", "layers", "daemons"}) {
    auto it = context.is_object() ? context.find(group) : context.end();
    if (it == context.end() || !it->is_object()) continue;
    for (const auto& [name, value] : it->items()) add(std::string(group) + "." + name + ".version");
  }
  return out;
}

}  // namespace polyarch
