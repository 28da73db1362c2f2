#include "harness/run/plan.h"

#include <fnmatch.h>

#include <algorithm>
#include <set>

#include <yaml-cpp/yaml.h>

#include "harness/core/fs.h"

namespace polyarch {
namespace {

std::string Where(const std::string& file, const YAML::Node& n) {
  // yaml-cpp counts lines from 0.
  return file + ":" + std::to_string(n.Mark().line + 1) + ": ";
}

Status At(const std::string& file, const YAML::Node& n, const std::string& msg) {
  return InvalidArgument(Where(file, n) + msg);
}

Result<std::string> Scalar(const std::string& file, const YAML::Node& n, const std::string& key) {
  if (!n.IsScalar()) return At(file, n, "'" + key + "' must be a single value");
  return n.Scalar();
}

Result<long> Integer(const std::string& file, const YAML::Node& n, const std::string& key, long min,
                     long max) {
  PA_ASSIGN_OR_RETURN(std::string s, Scalar(file, n, key));
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno != 0) {
    return At(file, n, "'" + key + "' must be an integer, got '" + s + "'");
  }
  if (v < min || v > max) {
    return At(file, n,
              "'" + key + "' must be between " + std::to_string(min) + " and " +
                  std::to_string(max) + ", got " + s);
  }
  return v;
}

Result<bool> Boolean(const std::string& file, const YAML::Node& n, const std::string& key) {
  PA_ASSIGN_OR_RETURN(std::string s, Scalar(file, n, key));
  if (s == "true" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "no" || s == "off") return false;
  return At(file, n, "'" + key + "' must be true or false, got '" + s + "'");
}

// A list given as a YAML sequence or as one comma-separated string.
Result<std::vector<std::string>> Strings(const std::string& file, const YAML::Node& n,
                                         const std::string& key) {
  std::vector<std::string> out;
  if (n.IsSequence()) {
    for (const auto& item : n) {
      PA_ASSIGN_OR_RETURN(std::string s, Scalar(file, item, key));
      out.push_back(s);
    }
    return out;
  }
  PA_ASSIGN_OR_RETURN(std::string s, Scalar(file, n, key));
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    std::string item = s.substr(start, end - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) out.push_back(item);
    start = end + 1;
  }
  return out;
}

Status CheckKnown(const std::string& file, const YAML::Node& n,
                  const std::vector<std::string>& values, const std::vector<std::string>& known,
                  const std::string& what) {
  for (const auto& v : values) {
    if (std::find(known.begin(), known.end(), v) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      return At(file, n, "unknown " + what + " '" + v + "' (known: " + list + ")");
    }
  }
  return Status::Ok();
}

Status ApplyThroughput(const std::string& file, const YAML::Node& node, ThroughputPlan* t) {
  if (!node.IsMap()) return At(file, node, "'throughput' must be a mapping");
  for (const auto& kv : node) {
    // as<std::string>() would throw on a sequence or mapping used as a key ("? [a, b]").
    if (!kv.first.IsScalar()) return At(file, kv.first, "keys must be plain names");
    const std::string key = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    if (key == "cycle") {
      PA_ASSIGN_OR_RETURN(std::string c, Scalar(file, v, key));
      PA_RETURN_IF_ERROR(CheckKnown(file, v, {c}, KnownCycles(), "cycle"));
      t->cycle = c;
    } else if (key == "containers") {
      PA_ASSIGN_OR_RETURN(long n, Integer(file, v, key, 1, 100000));
      t->containers = static_cast<int>(n);
    } else if (key == "concurrency") {
      PA_ASSIGN_OR_RETURN(auto list, Strings(file, v, key));
      t->concurrency.clear();
      for (const auto& s : list) {
        char* end = nullptr;
        long k = std::strtol(s.c_str(), &end, 10);
        if (s.empty() || *end != '\0' || k < 1 || k > 1000) {
          return At(file, v,
                    "'concurrency' values must be integers from 1 to 1000, got '" + s + "'");
        }
        t->concurrency.push_back(static_cast<int>(k));
      }
    } else if (key == "warmup") {
      PA_ASSIGN_OR_RETURN(long n, Integer(file, v, key, 0, 1000));
      t->warmup = static_cast<int>(n);
    } else if (key == "trials") {
      PA_ASSIGN_OR_RETURN(long n, Integer(file, v, key, 1, 100));
      t->trials = static_cast<int>(n);
    } else if (key == "duration") {
      PA_ASSIGN_OR_RETURN(long n, Integer(file, v, key, 0, 86400));
      t->duration_s = static_cast<double>(n);
    } else if (key == "mixed_arch") {
      PA_ASSIGN_OR_RETURN(t->mixed_arch, Boolean(file, v, key));
    } else {
      return At(file, kv.first,
                "unknown key 'throughput." + key +
                    "' (known: cycle, containers, concurrency, warmup, trials, "
                    "duration, mixed_arch)");
    }
  }
  return Status::Ok();
}

}  // namespace

nlohmann::json Plan::ToJson() const {
  std::vector<std::string> arch_names;
  for (const auto* a : arches) arch_names.emplace_back(a->name);
  return {{"suites", suites},
          {"layers", layers},
          {"arches", arch_names},
          {"filter", filter},
          {"repeat", repeat},
          {"jobs", jobs},
          {"strict", strict},
          {"step_timeout_ms", step_timeout.count()},
          {"runtime_binaries", runtime_binaries},
          {"containerd_address", containerd_address},
          {"docker_host", docker_host},
          {"expectations", expectations},
          {"builtin_expectations", builtin_expectations},
          {"shard",
           shard_count > 0 ? std::to_string(shard_index) + "/" + std::to_string(shard_count) : ""},
          {"shard_weights", shard_weights},
          {"node", node},
          {"throughput",
           {{"cycle", throughput.cycle},
            {"containers", throughput.containers},
            {"concurrency", throughput.concurrency},
            {"warmup", throughput.warmup},
            {"trials", throughput.trials},
            {"duration_s", throughput.duration_s},
            {"mixed_arch", throughput.mixed_arch}}}};
}

Result<std::vector<std::string>> ParseNameList(std::string_view list,
                                               const std::vector<std::string>& known,
                                               std::string_view what) {
  std::vector<std::string> out;
  std::string l(list);
  if (l == "all") return known;
  size_t start = 0;
  while (start <= l.size()) {
    size_t end = l.find(',', start);
    if (end == std::string::npos) end = l.size();
    std::string item = l.substr(start, end - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (what == "layer") item = CanonicalLayer(item);
    start = end + 1;
    if (item.empty()) return InvalidArgument("empty " + std::string(what) + " name in '" + l + "'");
    if (std::find(known.begin(), known.end(), item) == known.end()) {
      std::string names;
      for (const auto& k : known) names += (names.empty() ? "" : ", ") + k;
      return InvalidArgument("unknown " + std::string(what) + " '" + item + "' (known: " + names +
                             ")");
    }
    if (std::find(out.begin(), out.end(), item) == out.end()) out.push_back(item);
  }
  return out;
}

Result<Plan> ParseSuiteText(const std::string& text, const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(file + ":" + std::to_string(e.mark.line + 1) +
                           ": not valid YAML/JSON: " + e.msg);
  }
  if (root.IsNull()) return InvalidArgument(file + ": the suite file is empty");
  if (!root.IsMap()) return At(file, root, "a suite file is a mapping of keys to values");
  Plan p;
  std::set<std::string> seen;
  for (const auto& kv : root) {
    if (!kv.first.IsScalar()) return At(file, kv.first, "keys must be plain names");
    const std::string key = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    if (!seen.insert(key).second) return At(file, kv.first, "key '" + key + "' given twice");
    if (key == "suites") {
      PA_ASSIGN_OR_RETURN(p.suites, Strings(file, v, key));
      PA_RETURN_IF_ERROR(CheckKnown(file, v, p.suites, KnownSuites(), "suite"));
    } else if (key == "layers") {
      PA_ASSIGN_OR_RETURN(p.layers, Strings(file, v, key));
      for (auto& l : p.layers) l = CanonicalLayer(l);
      PA_RETURN_IF_ERROR(CheckKnown(file, v, p.layers, KnownLayers(), "layer"));
    } else if (key == "arches") {
      PA_ASSIGN_OR_RETURN(auto names, Strings(file, v, key));
      p.arches.clear();
      for (const auto& n : names) {
        auto a = ParseArchList(n, ArchScope::kAll);
        if (!a.ok()) return At(file, v, a.status().message());
        for (const ArchInfo* x : *a) {
          if (std::find(p.arches.begin(), p.arches.end(), x) == p.arches.end())
            p.arches.push_back(x);
        }
      }
    } else if (key == "filter") {
      PA_ASSIGN_OR_RETURN(p.filter, Scalar(file, v, key));
    } else if (key == "repeat") {
      PA_ASSIGN_OR_RETURN(long n, Integer(file, v, key, 1, 1000));
      p.repeat = static_cast<int>(n);
    } else if (key == "jobs") {
      PA_ASSIGN_OR_RETURN(long n, Integer(file, v, key, 1, 256));
      p.jobs = static_cast<int>(n);
    } else if (key == "strict") {
      PA_ASSIGN_OR_RETURN(p.strict, Boolean(file, v, key));
    } else if (key == "keep") {
      PA_ASSIGN_OR_RETURN(p.keep, Boolean(file, v, key));
    } else if (key == "report_dir") {
      PA_ASSIGN_OR_RETURN(p.report_dir, Scalar(file, v, key));
    } else if (key == "step_timeout_ms") {
      PA_ASSIGN_OR_RETURN(long n, Integer(file, v, key, 100, 3600000));
      p.step_timeout = std::chrono::milliseconds(n);
    } else if (key == "runtimes") {
      if (!v.IsMap()) {
        return At(file, v,
                  "'runtimes' maps a layer (runc, crun, containerd, docker, ...) to a binary");
      }
      for (const auto& r : v) {
        if (!r.first.IsScalar()) return At(file, r.first, "keys must be plain names");
        std::string layer = CanonicalLayer(r.first.Scalar());
        if (!IsRuntimeBinaryLayer(layer)) {
          return At(file, r.first, "'runtimes' takes a layer's name, not '" + layer + "'");
        }
        PA_ASSIGN_OR_RETURN(p.runtime_binaries[layer], Scalar(file, r.second, "runtimes." + layer));
      }
    } else if (key == "containerd_address") {
      PA_ASSIGN_OR_RETURN(p.containerd_address, Scalar(file, v, key));
    } else if (key == "docker_host") {
      PA_ASSIGN_OR_RETURN(p.docker_host, Scalar(file, v, key));
    } else if (key == "baseline") {
      PA_ASSIGN_OR_RETURN(p.baseline, Scalar(file, v, key));
    } else if (key == "expectations") {
      PA_ASSIGN_OR_RETURN(p.expectations, Strings(file, v, key));
    } else if (key == "builtin_expectations") {
      PA_ASSIGN_OR_RETURN(p.builtin_expectations, Boolean(file, v, key));
    } else if (key == "throughput") {
      PA_RETURN_IF_ERROR(ApplyThroughput(file, v, &p.throughput));
    } else {
      return At(file, kv.first,
                "unknown key '" + key +
                    "' (known: suites, layers, arches, filter, repeat, jobs, strict, keep, "
                    "report_dir, step_timeout_ms, runtimes, containerd_address, docker_host, "
                    "baseline, expectations, builtin_expectations, throughput)");
    }
  }
  PA_RETURN_IF_ERROR(ValidatePlan(p).WithContext(file));
  return p;
}

Result<Plan> LoadSuiteFile(const std::string& path) {
  auto text = ReadFile(path, 1 << 20);
  if (!text.ok()) return InvalidArgument("cannot read suite file: " + text.status().message());
  return ParseSuiteText(*text, path);
}

Status ValidatePlan(const Plan& p) {
  if (p.suites.empty()) return InvalidArgument("no suite selected");
  if (p.layers.empty()) return InvalidArgument("no layer selected");
  if (p.repeat < 1) return InvalidArgument("repeat must be at least 1");
  if (p.jobs < 1) return InvalidArgument("jobs must be at least 1");
  if (p.filter.empty()) return InvalidArgument("an empty filter matches nothing");
  if (!p.docker_host.empty() && p.docker_host.rfind("unix://", 0) != 0) {
    return InvalidArgument("docker host '" + p.docker_host +
                           "' is not a unix:// socket; polyarch talks to daemons over unix "
                           "sockets only");
  }
  for (const auto& [layer, binary] : p.runtime_binaries) {
    if (!p.docker_host.empty() && LayerEngine(layer) == "docker") {
      return InvalidArgument("a runtime binary for " + layer +
                             " needs polyarch's own dockerd: it cannot be given with a docker "
                             "host (" +
                             p.docker_host + ")");
    }
  }
  if (p.shard_count < 0 || p.shard_index < 0 || p.shard_index > p.shard_count ||
      (p.shard_count > 0 && p.shard_index < 1)) {
    return InvalidArgument("shard " + std::to_string(p.shard_index) + "/" +
                           std::to_string(p.shard_count) + " is not I/N with 1 <= I <= N");
  }
  if (!p.shard_weights.empty() && p.shard_count == 0) {
    return InvalidArgument("shard weights balance shards: give --shard I/N with them");
  }
  if (p.throughput.concurrency.empty()) return InvalidArgument("throughput needs a concurrency");
  const auto& cycles = KnownCycles();
  if (std::find(cycles.begin(), cycles.end(), p.throughput.cycle) == cycles.end()) {
    return InvalidArgument("unknown throughput cycle '" + p.throughput.cycle +
                           "' (known: auto, run, lifecycle)");
  }
  return Status::Ok();
}

bool GlobMatch(std::string_view pattern, std::string_view text) {
  return ::fnmatch(std::string(pattern).c_str(), std::string(text).c_str(), 0) == 0;
}

}  // namespace polyarch
