#include "harness/run/run_stack.h"

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <map>

#include "harness/core/log.h"
#include "harness/core/reaper.h"
#include "harness/core/subprocess.h"
#include "harness/drivers/containerd/containerd_layer.h"
#include "harness/drivers/docker/docker_layer.h"
#include "harness/drivers/oci_runtime.h"
#include "harness/host/runtime_probe.h"

namespace polyarch {

using nlohmann::json;

namespace {

// `path` from the working directory, for a daemon that runs elsewhere.
std::string AbsolutePath(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  char cwd[4096];
  if (::getcwd(cwd, sizeof cwd) == nullptr) return path;
  return std::string(cwd) + "/" + path;
}

}  // namespace

void RunStack::Start(const StackOptions& options) {
  const Plan& plan_ = *options.plan;
  auto needs = [&](const char* engine) {
    return std::any_of(plan_.layers.begin(), plan_.layers.end(),
                       [&](const std::string& l) { return LayerEngine(l) == engine; });
  };
  // The binary a layer runs its containers with: the plan's, else its runtime's, found in PATH
  // (a daemon resolves names in its own environment: it is given a path).
  auto runtime_binary = [&](const std::string& layer) -> Result<std::string> {
    auto it = plan_.runtime_binaries.find(layer);
    if (it != plan_.runtime_binaries.end()) return it->second;
    const std::string runtime = LayerRuntime(layer);
    auto found = FindProgram(runtime);
    if (!found.ok()) {
      return FailedPrecondition(runtime + " is not installed (" + found.status().message() +
                                "): apt-get install " + runtime);
    }
    return *found;
  };
  // An engine over a runtime other than its own runc: that runtime must accept this host, as
  // the runtime's own layer checks (crun 1.8 refuses a hybrid cgroup layout until `polyarch
  // doctor --fix`); if not, the layer's cases are skipped with the reason. "" when it does.
  std::map<std::string, std::string> refused;
  for (const auto& l : plan_.layers) {
    if (LayerEngine(l).empty() || l == "containerd" || l == "docker") continue;
    // Another dockerd runs its own runtimes: nothing here to check.
    if (LayerEngine(l) == "docker" && !plan_.docker_host.empty()) continue;
    auto bin = runtime_binary(l);
    auto ran = bin.ok() ? ProbeOciRuntime(LayerRuntime(l), *bin, options.run_dir)
                        : Result<int64_t>(bin.status());
    if (!ran.ok()) refused[l] = ran.status().message();  // it names the runtime
  }
  json daemons = json::object();
  // The daemons fork shims that daemonize. Whether an orphan goes to a subreaper is fixed when
  // its ancestors are forked, so polyarch becomes one before any daemon starts: what they
  // orphan then comes back to polyarch to be reaped (or to whoever adopts a killed polyarch's
  // children), never to init.
  if (Status s = Reaper::Instance().Enable(); !s.ok()) PA_LOG(kWarning) << s.message();
  // One containerd serves the containerd layers and, under dockerd, the docker layers.
  if ((needs("containerd") && plan_.containerd_address.empty()) ||
      (needs("docker") && plan_.docker_host.empty())) {
    ContainerdOptions o;
    o.run_dir = options.run_dir + "/daemons";
    o.journal = options.journal;
    auto d = ContainerdDaemon::Start(o);
    if (d.ok()) {
      containerd_ = std::move(*d);
      daemons["containerd"] = {{"owned", true},
                               {"version", containerd_->version()},
                               {"address", containerd_->address()}};
    } else {
      containerd_unavailable_ = d.status().message();
      daemons["containerd"] = {{"owned", true}, {"error", containerd_unavailable_}};
    }
  }
  containerd_address_ = plan_.containerd_address.empty()
                            ? (containerd_ ? containerd_->address() : "")
                            : plan_.containerd_address.substr(
                                  plan_.containerd_address.rfind("unix://", 0) == 0 ? 7 : 0);
  external_containerd_ = !plan_.containerd_address.empty();
  external_dockerd_ = !plan_.docker_host.empty();
  if (!plan_.containerd_address.empty()) {
    daemons["containerd"] = {{"owned", false}, {"address", containerd_address_}};
  }

  for (const auto& name : plan_.layers) {
    auto slot = std::make_unique<LayerSlot>();
    slot->name = name;
    // A layer that could not be set up stays in the run: its cases are skipped, saying why.
    auto take = [&slot](auto layer) {
      if (layer.ok()) {
        slot->layer = std::move(*layer);
      } else {
        slot->unavailable = layer.status().message();
      }
    };
    if (name == "runc" || name == "crun") {
      OciRuntimeOptions o;
      o.name = name;
      auto it = plan_.runtime_binaries.find(name);
      o.binary = it == plan_.runtime_binaries.end() ? name : it->second;
      o.run_dir = options.run_dir;
      o.images = options.images;
      o.step_timeout = plan_.step_timeout;
      o.journal = options.journal;
      take(OciRuntimeLayer::Create(o));
    } else if (refused.count(name)) {
      slot->unavailable = refused[name];
    } else if (LayerEngine(name) == "containerd") {
      if (containerd_address_.empty()) {
        slot->unavailable = "containerd did not start: " + containerd_unavailable_;
      } else {
        ContainerdLayerOptions o;
        o.name = name;
        o.address = containerd_address_;
        o.run_id = options.run_id;
        o.run_dir = options.run_dir;
        o.images = options.images;
        o.step_timeout = plan_.step_timeout;
        o.journal = options.journal;
        // containerd:runc keeps the shim's own runc unless the plan names a binary.
        if (name != "containerd" || plan_.runtime_binaries.count(name)) {
          o.runtime_binary = *runtime_binary(name);  // found: not refused
        }
        take(ContainerdLayer::Create(o));
      }
    } else if (LayerEngine(name) == "docker") {
      std::string socket;
      if (!plan_.docker_host.empty()) {
        socket = plan_.docker_host.substr(7);
        daemons["dockerd"] = {{"owned", false}, {"address", socket}};
      } else if (!containerd_) {
        slot->unavailable =
            "dockerd needs polyarch's containerd, which did not start: " + containerd_unavailable_;
      } else {
        if (!dockerd_ && dockerd_unavailable_.empty()) {
          // One dockerd for every docker layer, each layer's runtime registered with it.
          DockerdOptions o;
          o.run_dir = options.run_dir + "/daemons";
          o.journal = options.journal;
          // Containers' cgroups under the run's name, which the run's cleanup also looks for.
          o.cgroup_parent = "polyarch-" + options.run_id + "-docker";
          if (plan_.runtime_binaries.count("docker")) o.runtime_binary = *runtime_binary("docker");
          for (const auto& l : plan_.layers) {
            if (LayerEngine(l) == "docker" && l != "docker" && !refused.count(l)) {
              o.runtimes[LayerRuntime(l)] = *runtime_binary(l);
            }
          }
          auto d = DockerdDaemon::Start(o, containerd_->address());
          if (d.ok()) {
            dockerd_ = std::move(*d);
            daemons["dockerd"] = {{"owned", true},
                                  {"version", dockerd_->version().version},
                                  {"api_version", dockerd_->version().api_version},
                                  {"address", dockerd_->address()}};
          } else {
            dockerd_unavailable_ = d.status().message();
            daemons["dockerd"] = {{"owned", true}, {"error", dockerd_unavailable_}};
          }
        }
        if (dockerd_) {
          socket = dockerd_->address();
        } else {
          slot->unavailable = "dockerd did not start: " + dockerd_unavailable_;
        }
      }
      if (!socket.empty()) {
        DockerLayerOptions o;
        o.name = name;
        // docker:runc runs dockerd's default runtime; the others name theirs per container.
        if (name != "docker") o.runtime = LayerRuntime(name);
        o.socket_path = socket;
        o.run_id = options.run_id;
        o.images = options.images;
        o.step_timeout = plan_.step_timeout;
        o.journal = options.journal;
        take(DockerLayer::Create(o));
      }
    } else if (LayerEngine(name) == "podman") {
      // A service per layer: podman runs every container of a service with one runtime.
      PodmanServiceOptions o;
      o.run_dir = options.run_dir + "/daemons";
      o.name = "podman-" + LayerRuntime(name);
      // The plan's binary or the runtime's, as a path: the service runs elsewhere.
      auto bin = runtime_binary(name);  // found: not refused
      auto found = FindProgram(*bin);
      o.runtime_binary = AbsolutePath(found.ok() ? *found : *bin);
      o.cgroup_parent = "polyarch-" + options.run_id + "-" + o.name;
      o.journal = options.journal;
      auto d = PodmanService::Start(o);
      if (!d.ok()) {
        slot->unavailable = "the podman service did not start: " + d.status().message();
        daemons[o.name] = {{"owned", true}, {"error", d.status().message()}};
      } else {
        PodmanService& service = **d;
        daemons[o.name] = {{"owned", true},
                           {"version", service.version().version},
                           {"api_version", service.version().api_version},
                           {"runtime", service.runtime_binary()},
                           {"address", service.address()}};
        DockerLayerOptions lo = PodmanLayerOptions(service, name);
        lo.run_id = options.run_id;
        lo.images = options.images;
        lo.step_timeout = plan_.step_timeout;
        lo.journal = options.journal;
        podman_.push_back(std::move(*d));
        take(DockerLayer::Create(lo));
      }
    }
    layers_.push_back(std::move(slot));
  }
  daemons_context_ = std::move(daemons);
  for (const auto& slot : layers_) {
    if (!slot->unavailable.empty()) PA_LOG(kWarning) << slot->name << ": " << slot->unavailable;
  }
}

std::vector<int> RunStack::DaemonPids() const {
  std::vector<int> pids;
  if (containerd_) pids.push_back(containerd_->pid());
  if (dockerd_) pids.push_back(dockerd_->pid());
  for (const auto& p : podman_) pids.push_back(p->pid());
  return pids;
}

json RunStack::LayersContext() const {
  json layers = json::object();
  for (const auto& slot : layers_) {
    layers[slot->name] =
        slot->layer ? slot->layer->Context() : json{{"unavailable", slot->unavailable}};
  }
  return layers;
}

std::vector<RestartScenario> RunStack::RestartScenarios() {
  auto layers_of = [this](const std::string& engine, const std::string& only = "") {
    std::vector<RestartLayerRef> refs;
    for (const auto& slot : layers_) {
      if (LayerEngine(slot->name) != engine || (!only.empty() && slot->name != only)) continue;
      refs.push_back({slot->name, slot->layer.get(), slot->unavailable});
    }
    return refs;
  };
  // A daemon that is not polyarch's, or did not start (with the reason its layers give).
  auto target_for = [](auto* daemon, bool external, const std::string& name,
                       const std::vector<RestartLayerRef>& refs) {
    RestartTarget t;
    t.daemon = name;
    if (external) {
      t.unavailable = name + " was given (not started by polyarch): polyarch restarts only its own";
    } else if (daemon != nullptr) {
      t.interrupt = [daemon](int signal) { return daemon->Interrupt(signal); };
      t.restart = [daemon] { return daemon->Restart(); };
    } else {
      t.unavailable = name + " did not start";
      for (const auto& r : refs) {
        if (!r.unavailable.empty()) {
          t.unavailable = r.unavailable;
          break;
        }
      }
    }
    return t;
  };
  std::vector<RestartScenario> out;
  if (auto docker = layers_of("docker"); !docker.empty()) {
    RestartTarget t = target_for(dockerd_.get(), external_dockerd_, "dockerd", docker);
    if (dockerd_) {
      DockerdDaemon* d = dockerd_.get();
      t.set_live_restore = [d](bool on) { return d->SetLiveRestore(on); };
    }
    const bool own = dockerd_ && dockerd_->live_restore();
    RestartScenario off{.name = "dockerd_without_live_restore_stops_containers",
                        .spec_ref = "dockerd live-restore off: containers stop on shutdown",
                        .target = t,
                        .signal = SIGTERM,
                        .live_restore = false,
                        .live_restore_after = own,
                        .containers_survive = false,
                        .layers = docker};
    RestartScenario on = off;
    on.name = "dockerd_live_restore_keeps_containers";
    on.spec_ref = "dockerd live-restore: containers keep running while dockerd is down";
    on.live_restore = true;
    on.containers_survive = true;
    out.push_back(std::move(off));
    out.push_back(std::move(on));
  }
  for (const auto& slot : layers_) {
    if (LayerEngine(slot->name) != "podman") continue;
    const std::string service = "podman-" + LayerRuntime(slot->name);
    PodmanService* found = nullptr;
    for (const auto& p : podman_) {
      if (p->dir().size() > service.size() &&
          p->dir().compare(p->dir().size() - service.size() - 1, std::string::npos,
                           "/" + service) == 0) {
        found = p.get();
      }
    }
    out.push_back({.name = "podman_service_restart_keeps_containers",
                   .spec_ref = "podman: containers belong to conmon, not to the service",
                   .target = target_for(found, false, service, layers_of("podman", slot->name)),
                   .signal = SIGTERM,
                   .layers = layers_of("podman", slot->name)});
  }
  if (auto containerd = layers_of("containerd"); !containerd.empty()) {
    RestartTarget t = target_for(containerd_.get(), external_containerd_, "containerd", containerd);
    // dockerd runs on this containerd: it must reach it again before the run goes on (its
    // layers' cleanup needs it).
    if (containerd_ && dockerd_) {
      DockerdDaemon* d = dockerd_.get();
      t.settle = [d] { return d->WaitContainerdReachable(); };
    }
    for (int signal : {SIGTERM, SIGKILL}) {
      out.push_back({.name = signal == SIGTERM ? "containerd_sigterm_keeps_containers"
                                               : "containerd_sigkill_keeps_containers",
                     .spec_ref = "containerd: tasks belong to their shim and survive a restart",
                     .target = t,
                     .signal = signal,
                     .layers = containerd});
    }
  }
  return out;
}

void RunStack::Stop(json* layers, json* daemons, std::vector<std::string>* problems) {
  for (auto& slot : layers_) {
    if (!slot->layer) continue;
    Status s = slot->layer->Cleanup();
    (*layers)[slot->name] = {{"ok", s.ok()}, {"error", s.ok() ? "" : s.message()}};
    if (!s.ok()) problems->push_back("layer " + slot->name + ": " + s.message());
  }
  layers_.clear();  // drivers and layers go before their daemons
  auto stop = [&](const char* name, auto& daemon) {
    if (!daemon) return;
    Status s = daemon->Stop();
    (*daemons)[name] = {{"ok", s.ok()}, {"error", s.ok() ? "" : s.message()}};
    if (!s.ok()) problems->push_back(std::string("stopping ") + name + ": " + s.message());
    daemon.reset();
  };
  for (auto& p : podman_) {
    const std::string name = p->dir().substr(p->dir().rfind('/') + 1);
    stop(name.c_str(), p);
  }
  podman_.clear();
  stop("dockerd", dockerd_);
  stop("containerd", containerd_);
}

}  // namespace polyarch
