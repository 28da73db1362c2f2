#include "harness/drivers/docker/docker_layer.h"

#include <algorithm>
#include <set>
#include <thread>

#include "harness/core/fs.h"
#include "harness/core/json_int.h"
#include "harness/core/json_read.h"
#include "harness/core/log.h"
#include "harness/core/timing.h"

namespace polyarch {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;
using std::chrono::milliseconds;

constexpr char kContainerRecord[] = "docker-container";
constexpr char kImageRecord[] = "docker-image";
// A response body kept as a step's output: enough for the engine's message.
constexpr size_t kOutputBytes = 4096;
// Largest docker-archive read into memory for POST /images/load.
constexpr size_t kMaxArchiveBytes = size_t{1} << 30;
// How containerd's error for an exec the runtime could not start begins.
constexpr char kOciExecFailed[] = "OCI runtime exec failed";

// What is left of `deadline`, at least 1 ms so a request still gets its own deadline.
milliseconds Remaining(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
  return std::max(left, milliseconds(1));
}

CapturedOutput Bounded(const std::string& body) {
  CapturedOutput out;
  out.head = body.substr(0, kOutputBytes);
  out.total_bytes = body.size();
  out.dropped_bytes = body.size() - out.head.size();
  return out;
}

json ParseObject(const std::string& body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  return j.is_object() ? j : json();
}

std::string StringAt(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

EngineRequest Request(const char* method, std::string path, std::string body,
                      milliseconds timeout) {
  EngineRequest rq;
  rq.method = method;
  rq.path = std::move(path);
  rq.body = std::move(body);
  rq.timeout = timeout;
  return rq;
}

std::string ListPath(const DockerLayerOptions& o) {
  json labels = json::array({std::string(kRunLabel) + "=" + o.run_id});
  if (o.name != "docker") labels.push_back(std::string(kLayerLabel) + "=" + o.name);
  json filters = {{"label", labels}};
  return "/containers/json?all=1&filters=" + UrlEncode(filters.dump());
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Free functions

json DockerCreateBody(const ContainerSpec& spec, const std::string& image_reference,
                      const std::string& run_id) {
  json host = {
      {"NetworkMode", "none"},  // no bridge exists, and no traffic may leave the host
      {"Privileged", false},
      {"AutoRemove", false},  // the suite deletes, so it can inspect an exited container
  };
  if (spec.writable_tmp) host["Tmpfs"] = {{"/tmp", "rw,size=16m"}};
  json body = {
      {"Image", image_reference},
      {"Env", spec.env},
      {"Labels", {{kRunLabel, run_id}}},
      {"HostConfig", host},
  };
  // Without the sandbox dockerd neither sets up libnetwork's "none" sandbox nor adds its
  // prestart hook; the network namespace is then the runtime's new, empty one.
  if (!spec.network_sandbox) body["NetworkDisabled"] = true;
  // An empty Cmd would replace the image's; leave it out instead.
  if (!spec.argv.empty()) body["Cmd"] = spec.argv;
  if (spec.settings) ApplyDockerSettings(*spec.settings, &body);
  return body;
}

json DockerCreateBody(const ContainerSpec& spec, const std::string& image_reference,
                      const DockerLayerOptions& layer) {
  json body = DockerCreateBody(spec, image_reference, layer.run_id);
  if (layer.name != "docker") body["Labels"][kLayerLabel] = layer.name;
  if (!layer.runtime.empty()) body["HostConfig"]["Runtime"] = layer.runtime;
  if (!layer.cgroup_parent.empty()) body["HostConfig"]["CgroupParent"] = "/" + layer.cgroup_parent;
  for (const auto& [name, value] : layer.default_ulimits) {
    json& ulimits = body["HostConfig"]["Ulimits"];
    bool named = false;
    if (ulimits.is_array()) {
      for (const auto& u : ulimits) named = named || (u.is_object() && u.value("Name", "") == name);
    }
    if (!named) ulimits.push_back({{"Name", name}, {"Soft", value}, {"Hard", value}});
  }
  return body;
}

// What of SpecSettings the Engine API expresses (DockerLayer::capabilities() declares the
// same bits), mapped onto the create body.
void ApplyDockerSettings(const SpecSettings& s, json* body) {
  json& b = *body;
  json& host = b["HostConfig"];
  if (s.cwd) b["WorkingDir"] = *s.cwd;
  if (s.uid || s.gid) {
    b["User"] = std::to_string(s.uid.value_or(0)) + ":" + std::to_string(s.gid.value_or(0));
  }
  for (uint32_t g : s.additional_gids) host["GroupAdd"].push_back(std::to_string(g));
  if (s.capability_set) {
    host["CapDrop"] = {"ALL"};
    host["CapAdd"] = *s.capability_set;
  }
  if (s.no_new_privileges.value_or(false)) host["SecurityOpt"].push_back("no-new-privileges");
  for (const auto& r : s.rlimits) {
    std::string name = r.type.rfind("RLIMIT_", 0) == 0 ? r.type.substr(7) : r.type;
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    // The engine takes int64; -1 is its "unlimited".
    auto value = [](uint64_t v) { return v == kRlimInfinity ? int64_t{-1} : int64_t(v); };
    host["Ulimits"].push_back({{"Name", name}, {"Soft", value(r.soft)}, {"Hard", value(r.hard)}});
  }
  if (s.oom_score_adj) host["OomScoreAdj"] = *s.oom_score_adj;
  if (s.hostname) b["Hostname"] = *s.hostname;
  if (s.domainname) b["Domainname"] = *s.domainname;
  if (s.readonly_root) host["ReadonlyRootfs"] = *s.readonly_root;
  for (const auto& m : s.mounts) {
    std::string options;
    for (const auto& o : m.options) options += (options.empty() ? "" : ",") + o;
    host["Tmpfs"][m.destination] = options;
  }
  if (!s.sysctl.empty()) host["Sysctls"] = s.sysctl;
  if (s.masked_paths) host["MaskedPaths"] = *s.masked_paths;
  if (s.readonly_paths) host["ReadonlyPaths"] = *s.readonly_paths;
  if (s.cgroup_limits) {
    const CgroupLimits& l = *s.cgroup_limits;
    if (l.memory_limit) host["Memory"] = *l.memory_limit;
    if (l.cpu_shares) host["CpuShares"] = *l.cpu_shares;
    if (l.cpu_quota) host["CpuQuota"] = *l.cpu_quota;
    if (l.cpu_period) host["CpuPeriod"] = *l.cpu_period;
    if (l.pids_limit) host["PidsLimit"] = *l.pids_limit;
  }
  if (s.blkio) {
    // The Engine API names a device by its node; dockerd reads major:minor from it.
    auto devices = [](const std::vector<BlkioThrottle>& v) {
      json a = json::array();
      for (const auto& t : v) a.push_back({{"Path", t.path}, {"Rate", t.rate}});
      return a;
    };
    if (!s.blkio->read_bps.empty()) host["BlkioDeviceReadBps"] = devices(s.blkio->read_bps);
    if (!s.blkio->write_iops.empty()) host["BlkioDeviceWriteIOps"] = devices(s.blkio->write_iops);
  }
  if (s.seccomp) {
    SpecSettings only;
    only.seccomp = s.seccomp;
    json profile = json::object();
    ApplySpecSettings(only, &profile);
    host["SecurityOpt"].push_back("seccomp=" + profile["linux"]["seccomp"].dump());
  }
}

uint32_t DockerSpecSettings() {
  return kSetCwd | kSetUser | kSetAdditionalGids | kSetCapabilitySet | kSetNoNewPrivileges |
         kSetRlimits | kSetOomScoreAdj | kSetHostname | kSetDomainname | kSetReadonlyRoot |
         kSetTmpfsMounts | kSetSysctl | kSetMaskedPaths | kSetReadonlyPaths | kSetCgroupLimits |
         kSetBlkio | kSetSeccomp;
}

DockerLayerOptions PodmanLayerOptions(const PodmanService& service, const std::string& name) {
  DockerLayerOptions o;
  o.name = name;
  o.engine = "podman";
  o.socket_path = service.address();
  o.cgroup_parent = service.cgroup_parent();
  o.runtime_binary = service.runtime_binary();
  o.default_ulimits = service.container_limits();
  return o;
}

ContainerState ParseDockerState(std::string_view status) {
  if (status == "created") return ContainerState::kCreated;
  if (status == "running") return ContainerState::kRunning;
  if (status == "paused") return ContainerState::kPaused;
  if (status == "restarting") return ContainerState::kCreating;
  if (status == "exited" || status == "dead" || status == "removing") {
    return ContainerState::kStopped;
  }
  return ContainerState::kUnknown;
}

// ---------------------------------------------------------------------------------------
// DockerDriver

DockerDriver::DockerDriver(DockerLayer* layer)
    : layer_(layer),
      client_(EngineClientOptions{layer->options_.socket_path, layer->options_.step_timeout}) {
  client_.AssumeNegotiated();  // the layer negotiated with this engine already
}

Capabilities DockerDriver::capabilities() const { return layer_->capabilities(); }

std::optional<EngineResponse> DockerDriver::Call(StepResult* r, EngineRequest rq) {
  auto res = client_.Send(rq);
  if (!res.ok()) {
    r->status = res.status();
    return std::nullopt;
  }
  if (!res->ok()) {
    r->status = EngineError(*res);
    r->output = Bounded(res->body);
  }
  return std::move(res).value();
}

StepResult DockerDriver::Simple(const char* operation, const char* method, std::string path) {
  return TimedStep<StepResult>(operation, [&](StepResult& r) {
    Call(&r, Request(method, std::move(path), "", layer_->options_.step_timeout));
  });
}

StepResult DockerDriver::Create(const ContainerSpec& spec) {
  return TimedStep<StepResult>("POST /containers/create", [&](StepResult& r) {
    const DockerImage* image = spec.arch ? layer_->FindImage(*spec.arch) : nullptr;
    if (image == nullptr || !image->status.ok()) {
      std::string arch = spec.arch ? std::string(spec.arch->name) : "(no arch)";
      r.status = FailedPrecondition("no loaded image for " + arch +
                                    (image ? ": " + image->status.message() : std::string()));
      return;
    }
    Journal* journal = layer_->options_.journal;
    if (journal != nullptr) {
      // Written down before the engine is asked, so a crash between the two leaves a record.
      r.status = journal->Add({kContainerRecord,
                               spec.id,
                               {{"socket", layer_->options_.socket_path},
                                {"run", layer_->options_.run_id},
                                {"layer", layer_->options_.name}}});
      if (!r.status.ok()) return;
    }
    std::string path = "/containers/create?name=" + UrlEncode(spec.id) +
                       "&platform=" + UrlEncode(spec.arch->Platform());
    auto res = Call(&r, Request("POST", std::move(path),
                                DockerCreateBody(spec, image->reference, layer_->options_).dump(),
                                layer_->options_.step_timeout));
    if (res && res->ok()) {
      // Warnings (a platform mismatch, a kernel feature missing) belong in the report.
      json j = ParseObject(res->body);
      if (j.contains("Warnings") && j["Warnings"].is_array() && !j["Warnings"].empty()) {
        r.output = Bounded(j["Warnings"].dump());
      }
    } else if (res && res->status != 409 && journal != nullptr) {
      // The engine refused: nothing was created. (409: a container of that name exists and
      // its record stays.)
      (void)journal->Remove(kContainerRecord, spec.id);
    }
  });
}

StepResult DockerDriver::Start(const std::string& id) {
  return Simple("POST /containers/{id}/start", "POST", "/containers/" + UrlEncode(id) + "/start");
}

StepResult DockerDriver::Pause(const std::string& id) {
  return Simple("POST /containers/{id}/pause", "POST", "/containers/" + UrlEncode(id) + "/pause");
}

StepResult DockerDriver::Resume(const std::string& id) {
  return Simple("POST /containers/{id}/unpause", "POST",
                "/containers/" + UrlEncode(id) + "/unpause");
}

StepResult DockerDriver::Kill(const std::string& id, int signal) {
  return Simple("POST /containers/{id}/kill", "POST",
                "/containers/" + UrlEncode(id) + "/kill?signal=" + std::to_string(signal));
}

StateResult DockerDriver::State(const std::string& id) {
  return TimedStep<StateResult>("GET /containers/{id}/json", [&](StateResult& r) {
    auto res = Call(&r, Request("GET", "/containers/" + UrlEncode(id) + "/json", "",
                                layer_->options_.step_timeout));
    if (!res) return;
    if (res->status == 404) {
      r.status = Status::Ok();  // asking about a missing container is answered, not failed
      r.output = {};
      r.state = ContainerState::kNotFound;
      return;
    }
    if (!res->ok()) return;
    json j = ParseObject(res->body);
    const json* state =
        j.is_object() && j.contains("State") && j["State"].is_object() ? &j["State"] : nullptr;
    if (state == nullptr) {
      r.status = Internal(r.operation + ": the answer has no State object");
      r.output = Bounded(res->body);
      return;
    }
    std::string status = StringAt(*state, "Status");
    r.state = ParseDockerState(status);
    if (state->contains("Pid")) r.pid = JsonInteger<int>((*state)["Pid"]).value_or(r.pid);
    if (r.state == ContainerState::kUnknown) {
      r.status = Internal(r.operation + ": unknown State.Status '" + status + "'");
    }
  });
}

ExecResult DockerDriver::Exec(const std::string& id, const std::vector<std::string>& argv,
                              milliseconds timeout) {
  return TimedStep<ExecResult>(
      "POST /containers/{id}/exec + POST /exec/{id}/start", [&](ExecResult& r) {
        const auto deadline = Clock::now() + timeout;

        json create = {{"AttachStdin", false},
                       {"AttachStdout", true},
                       {"AttachStderr", true},
                       {"Tty", false},
                       {"Cmd", argv}};
        auto created = Call(&r, Request("POST", "/containers/" + UrlEncode(id) + "/exec",
                                        create.dump(), Remaining(deadline)));
        if (!created || !created->ok()) return;  // 409: not running, or paused
        std::string exec_id = StringAt(ParseObject(created->body), "Id");
        if (exec_id.empty()) {
          r.status = Internal("POST /containers/{id}/exec: the answer has no Id");
          r.output = Bounded(created->body);
          return;
        }

        // Without an Upgrade header dockerd 20.10 hijacks the connection, answers "200 OK" with
        // no length and writes the multiplexed stream until the process's output ends, then
        // closes the connection: the body is read to its end, into bounded captures.
        StreamDemuxer demux;
        EngineRequest start =
            Request("POST", "/exec/" + UrlEncode(exec_id) + "/start",
                    json({{"Detach", false}, {"Tty", false}}).dump(), Remaining(deadline));
        start.sink = [&demux](std::string_view piece) { return demux.Feed(piece); };
        auto started = Call(&r, std::move(start));
        r.out = demux.out().Text();
        r.err = demux.err().Text();
        if (!started || !started->ok()) return;
        if (Status s = demux.Finish(); !s.ok()) {
          r.status = s.WithContext("POST /exec/{id}/start");
          return;
        }
        if (demux.system_error().total_bytes > 0) {
          r.status = Internal("POST /exec/{id}/start: " + layer_->options_.engine +
                              " reported: " + demux.system_error().Text());
          return;
        }

        // The output ends when the process's pipes close; its exit code is recorded when the
        // engine handles the exit event, which may come a moment later.
        for (;;) {
          auto inspected = Call(
              &r, Request("GET", "/exec/" + UrlEncode(exec_id) + "/json", "", Remaining(deadline)));
          if (!inspected || !inspected->ok()) return;
          json j = ParseObject(inspected->body);
          // Running is a boolean; ExitCode is null until the process has exited.
          Result<bool> running = BoolField(j, "Running");
          if (!running.ok()) {
            r.status = Internal("GET /exec/{id}/json: " + running.status().message());
            r.output = Bounded(inspected->body);
            return;
          }
          std::optional<int> exit_code =
              j.contains("ExitCode") ? JsonInteger<int>(j["ExitCode"]) : std::nullopt;
          if (!*running && exit_code) {
            int code = *exit_code;
            // dockerd turns a runtime that could not start the process into exit 126 (or 127) and
            // writes the runtime's error on stdout: the process never ran, so no exit code.
            if ((code == 126 || code == 127) && r.out.rfind(kOciExecFailed, 0) == 0) {
              r.status = FailedPrecondition(
                  "POST /exec/{id}/start: the runtime did not start the "
                  "process (exit " +
                  std::to_string(code) + "): " + r.out.substr(0, 1000));
              return;
            }
            r.exit_code = code;
            return;
          }
          if (Clock::now() >= deadline) {
            r.status = DeadlineExceeded("GET /exec/{id}/json: no exit code within " +
                                        std::to_string(timeout.count()) + " ms");
            r.output = Bounded(inspected->body);
            return;
          }
          std::this_thread::sleep_for(milliseconds(2));
        }
      });
}

WaitResult DockerDriver::Wait(const std::string& id, milliseconds timeout) {
  return TimedStep<WaitResult>("POST /containers/{id}/wait", [&](WaitResult& r) {
    // dockerd answers the headers at once and the body when the condition holds: the
    // request's deadline covers both, so the wait is bounded by `timeout`.
    auto res = client_.Send(Request(
        "POST", "/containers/" + UrlEncode(id) + "/wait?condition=not-running", "", timeout));
    if (!res.ok()) {
      if (res.status().code() == Code::kDeadlineExceeded) return;  // exited = false
      r.status = res.status();
      return;
    }
    if (!res->ok()) {
      r.status = EngineError(*res);
      r.output = Bounded(res->body);
      return;
    }
    json j = ParseObject(res->body);
    std::optional<int> status_code = j.is_object() && j.contains("StatusCode")
                                         ? JsonInteger<int>(j["StatusCode"])
                                         : std::nullopt;
    if (!status_code) {
      r.status = Internal(r.operation + ": the answer has no StatusCode");
      r.output = Bounded(res->body);
      return;
    }
    r.exited = true;
    r.exit_code = *status_code;
    if (j.contains("Error") && j["Error"].is_object()) {
      std::string message = StringAt(j["Error"], "Message");
      if (!message.empty()) r.status = Internal(r.operation + ": " + message);
    }
  });
}

StepResult DockerDriver::Delete(const std::string& id, bool force) {
  StepResult r =
      Simple("DELETE /containers/{id}", "DELETE",
             "/containers/" + UrlEncode(id) + "?force=" + (force ? "true" : "false") + "&v=1");
  Journal* journal = layer_->options_.journal;
  if (journal != nullptr && (r.ok() || r.status.code() == Code::kNotFound)) {
    (void)journal->Remove(kContainerRecord, id);
  }
  return r;
}

ListResult DockerDriver::List() {
  return TimedStep<ListResult>("GET /containers/json", [&](ListResult& r) {
    auto res =
        Call(&r, Request("GET", ListPath(layer_->options_), "", layer_->options_.step_timeout));
    if (!res || !res->ok()) return;
    json j = json::parse(res->body, nullptr, /*allow_exceptions=*/false);
    if (!j.is_array()) {
      r.status = Internal(r.operation + ": the answer is not a JSON array");
      r.output = Bounded(res->body);
      return;
    }
    for (const auto& c : j) {
      if (!c.is_object()) continue;
      // The filter is the engine's; checking the label again costs nothing.
      if (!c.contains("Labels") || !c["Labels"].is_object() ||
          StringAt(c["Labels"], kRunLabel) != layer_->options_.run_id ||
          StringAt(c["Labels"], kLayerLabel) !=
              (layer_->options_.name == "docker" ? "" : layer_->options_.name)) {
        continue;
      }
      if (c.contains("Names") && c["Names"].is_array() && !c["Names"].empty() &&
          c["Names"][0].is_string()) {
        std::string name = c["Names"][0].get<std::string>();
        if (!name.empty() && name[0] == '/') name.erase(0, 1);
        r.ids.push_back(std::move(name));
      }
    }
    std::sort(r.ids.begin(), r.ids.end());
  });
}

// ---------------------------------------------------------------------------------------
// DockerLayer

Result<std::unique_ptr<DockerLayer>> DockerLayer::Create(const DockerLayerOptions& options) {
  if (options.socket_path.empty()) return InvalidArgument("the docker layer needs a socket path");
  if (options.run_id.empty()) return InvalidArgument("the docker layer needs a run id");
  if (options.images == nullptr) return InvalidArgument("the docker layer needs the run's images");
  std::unique_ptr<DockerLayer> layer(new DockerLayer(options));
  EngineClient client(EngineClientOptions{options.socket_path, options.step_timeout});
  PA_ASSIGN_OR_RETURN(layer->version_, client.Negotiate());
  PA_ASSIGN_OR_RETURN(EngineResponse info, client.Get("/info"));
  if (!info.ok()) return EngineError(info).WithContext("read the engine's settings");
  json j = ParseObject(info.body);
  layer->storage_driver_ = StringAt(j, "Driver");
  for (const char* key : {"CgroupDriver", "CgroupVersion", "DefaultRuntime", "KernelVersion",
                          "OperatingSystem", "Architecture"}) {
    std::string value = StringAt(j, key);
    if (!value.empty()) layer->engine_info_[key] = value;
  }
  if (!options.runtime.empty() && !(j.contains("Runtimes") && j["Runtimes"].is_object() &&
                                    j["Runtimes"].contains(options.runtime))) {
    return FailedPrecondition(
        options.engine + " at " + options.socket_path + " has no runtime '" + options.runtime +
        "' (GET /info Runtimes: " + (j.contains("Runtimes") ? j["Runtimes"].dump() : "none") +
        "): register it (daemon.json \"runtimes\", or --add-runtime)");
  }
  for (const BuiltImage& image : options.images->images) {
    if (image.arch == nullptr) continue;
    DockerImage loaded = layer->Load(client, image);
    if (loaded.status.code() == Code::kUnavailable) {
      // The engine itself went away: nothing after this can work.
      return loaded.status.WithContext("load " + loaded.reference);
    }
    if (!loaded.status.ok()) {
      PA_LOG(kWarning) << options.name << " layer: " << image.arch->name << ": "
                       << loaded.status.ToString();
    }
    layer->images_[std::string(image.arch->name)] = std::move(loaded);
  }
  size_t usable = std::count_if(layer->images_.begin(), layer->images_.end(),
                                [](const auto& kv) { return kv.second.status.ok(); });
  PA_LOG(kInfo) << options.name << " layer: Docker " << layer->version_.version << " (API "
                << layer->version_.api_version << ", using " << kEngineApiVersion << "), " << usable
                << " of " << layer->images_.size() << " image(s) loaded";
  return layer;
}

DockerImage DockerLayer::Load(EngineClient& client, const BuiltImage& image) {
  DockerImage d;
  d.arch = image.arch;
  d.reference = image.reference;
  auto archive = ReadFile(image.docker_archive, kMaxArchiveBytes);
  if (!archive.ok()) {
    d.status = archive.status().WithContext("read the docker-archive " + image.docker_archive);
    return d;
  }
  if (options_.journal != nullptr) {
    d.status = options_.journal->Add({kImageRecord,
                                      options_.run_id + "/" + image.reference,
                                      {{"socket", options_.socket_path},
                                       {"run", options_.run_id},
                                       {"reference", image.reference}}});
    if (!d.status.ok()) return d;
  }
  EngineRequest rq =
      Request("POST", "/images/load?quiet=1", std::move(*archive), options_.load_timeout);
  rq.content_type = "application/x-tar";
  auto loaded = client.Send(rq);
  if (!loaded.ok()) {
    d.status = loaded.status();
    return d;
  }
  if (!loaded->ok()) {
    d.status = EngineError(*loaded);
    return d;
  }
  // A load that fails part-way still answers 200: the failure is an {"error": ...} line.
  JsonMessages messages = ParseJsonMessages(loaded->body);
  if (!messages.error.empty()) {
    d.status =
        Internal("POST " + loaded->target + " of " + image.docker_archive + ": " + messages.error);
    return d;
  }
  auto inspected = client.Get("/images/" + image.reference + "/json");
  if (!inspected.ok()) {
    d.status = inspected.status();
    return d;
  }
  if (!inspected->ok()) {
    d.status = EngineError(*inspected).WithContext("the loaded image");
    return d;
  }
  json j = ParseObject(inspected->body);
  d.id = StringAt(j, "Id");
  const ArchInfo& arch = *image.arch;
  std::string got_arch = StringAt(j, "Architecture");
  std::string got_variant = StringAt(j, "Variant");
  std::string got_os = StringAt(j, "Os");
  // podman 4.3's compatible API leaves Variant out of an image it loaded with one (arm/v7,
  // arm64/v8): from podman, only a variant it reports is compared.
  const bool variant_unreported = options_.engine == "podman" && got_variant.empty();
  if (got_arch != arch.oci_arch || got_os != "linux" ||
      (!arch.oci_variant.empty() && got_variant != arch.oci_variant && !variant_unreported)) {
    d.status =
        Internal(options_.engine + " filed " + image.reference + " as " + got_os + "/" + got_arch +
                 (got_variant.empty() ? "" : "/" + got_variant) + ", not " + arch.Platform());
  } else if (!image.config.digest.empty() && d.id != image.config.digest) {
    d.status = Internal(options_.engine + " gave " + image.reference + " the ID " + d.id +
                        ", not its config digest " + image.config.digest);
  }
  return d;
}

const DockerImage* DockerLayer::FindImage(const ArchInfo& arch) const {
  auto it = images_.find(std::string(arch.name));
  return it == images_.end() ? nullptr : &it->second;
}

Capabilities DockerLayer::capabilities() const {
  Capabilities c;
  c.start_stopped_refused = false;  // `docker start` of an exited container restarts it
  c.pause = true;
  c.exec = true;
  c.kill = true;
  c.wait_exit_code = true;
  c.state_pid = true;
  c.created_state = true;
  c.settings = DockerSpecSettings();
  return c;
}

nlohmann::json DockerLayer::Context() const {
  json images = json::object();
  for (const auto& [name, image] : images_) {
    images[name] = {{"reference", image.reference},
                    {"id", image.id},
                    {"status", image.status.ok() ? "loaded" : image.status.ToString()}};
  }
  return {{"layer", options_.name},
          {"engine_name", options_.engine},
          {"runtime", options_.runtime.empty() ? "default" : options_.runtime},
          {"runtime_binary", options_.runtime_binary},
          {"socket", options_.socket_path},
          {"version", version_.version},
          {"api_version", version_.api_version},
          {"min_api_version", version_.min_api_version},
          {"api_version_used", kEngineApiVersion},
          {"storage_driver", storage_driver_},
          {"engine", engine_info_},
          {"run_id", options_.run_id},
          {"images", images}};
}

Status DockerLayer::Supports(const ArchInfo& arch) const {
  const DockerImage* image = FindImage(arch);
  if (image == nullptr) {
    return FailedPrecondition("no " + std::string(arch.name) + " image was built for the run");
  }
  if (!image->status.ok()) {
    return FailedPrecondition("the " + std::string(arch.name) + " image is not usable in " +
                              options_.engine + ": " + image->status.message());
  }
  return Status::Ok();
}

std::unique_ptr<Driver> DockerLayer::NewDriver() { return std::make_unique<DockerDriver>(this); }

Status DockerLayer::Cleanup() {
  std::lock_guard<std::mutex> lock(cleanup_mu_);
  DockerDriver driver(this);
  Status first;
  auto note = [&first](const Status& s) {
    if (!s.ok() && first.ok()) first = s;
  };

  // Containers: those the engine lists under the run label, and those the journal names
  // (a create that crashed before its answer).
  ListResult list = driver.List();
  note(list.status);
  std::set<std::string> ids(list.ids.begin(), list.ids.end());
  if (options_.journal != nullptr) {
    auto live = options_.journal->Live(kContainerRecord);
    if (live.ok()) {
      for (const auto& rec : *live) {
        if (rec.data.is_object() && rec.data.value("run", "") == options_.run_id &&
            rec.data.value("socket", "") == options_.socket_path &&
            rec.data.value("layer", "docker") == options_.name) {
          ids.insert(rec.key);
        }
      }
    }
  }
  for (const auto& id : ids) {
    StepResult d = driver.Delete(id, /*force=*/true);
    if (!d.ok() && d.status.code() != Code::kNotFound) note(d.status);
  }

  // Images: the references this layer loaded (or tried to).
  EngineClient& client = driver.client();
  for (const auto& [name, image] : images_) {
    auto res = client.Delete("/images/" + image.reference + "?force=1");
    if (!res.ok()) {
      note(res.status());
      continue;
    }
    if (!res->ok() && res->status != 404) {
      note(EngineError(*res));
      continue;
    }
    if (options_.journal != nullptr) {
      (void)options_.journal->Remove(kImageRecord, options_.run_id + "/" + image.reference);
    }
  }

  // Verify: nothing of the run is left.
  ListResult after = driver.List();
  note(after.status);
  if (after.ok() && !after.ids.empty()) {
    note(Internal(options_.engine + " still lists " + std::to_string(after.ids.size()) +
                  " container(s) of run " + options_.run_id +
                  " after cleanup (first: " + after.ids[0] + ")"));
  }
  for (const auto& [name, image] : images_) {
    auto res = client.Get("/images/" + image.reference + "/json");
    if (res.ok() && res->status != 404) {
      note(Internal("image " + image.reference + " is still in " + options_.engine +
                    " after cleanup"));
    }
  }
  return first;
}

}  // namespace polyarch
