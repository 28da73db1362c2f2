// The "engine" layer: dockerd driven through the Engine API on its unix socket (never the
// docker CLI, whose own start-up would be most of what a step measures).
//
// The layer loads every image of the run's ImageSet as a docker-archive (POST /images/load)
// and checks that the engine files it under the right platform; containers are created with
// that platform, network mode "none" and the label io.polyarch.run=<run id>, which is how
// List and Cleanup find the run's containers and nothing else. Each driver owns one
// EngineClient, so each worker thread has its own keep-alive connection.
//
// Error tiers: a step the engine refuses or fails (HTTP 4xx/5xx) is a Status in the step's
// result, with the method, path, HTTP status and the engine's message; an engine that is
// gone (socket missing, connection refused or reset) is Code::kUnavailable, so a suite can
// mark the case aborted; asking about a container that does not exist is an answer
// (ContainerState::kNotFound), not an error.
#ifndef POLYARCH_HARNESS_DRIVERS_DOCKER_DOCKER_LAYER_H_
#define POLYARCH_HARNESS_DRIVERS_DOCKER_DOCKER_LAYER_H_

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/core/journal.h"
#include "harness/daemons/podman_service.h"
#include "harness/drivers/docker/engine_client.h"
#include "harness/drivers/driver.h"
#include "images/builder.h"

namespace polyarch {

// The label every container of a run carries; its value is the run id.
inline constexpr char kRunLabel[] = "io.polyarch.run";
// The label the containers of a docker layer other than "docker" carry: the layer's name
// ("docker:crun"), so two layers over one dockerd each list and clean up their own.
inline constexpr char kLayerLabel[] = "io.polyarch.layer";

struct DockerLayerOptions {
  std::string name = "docker";  // the layer's name
  // The runtime its containers name (HostConfig.Runtime), registered with dockerd; "" for
  // dockerd's default.
  std::string runtime;
  std::string socket_path;  // the engine's socket, e.g. DockerdDaemon::address()
  // The engine behind the socket, as messages name it: "dockerd", or "podman" (its
  // Docker-compatible API, PodmanService).
  std::string engine = "dockerd";
  // The cgroup every container goes under (HostConfig.CgroupParent, "/" + this); "" for the
  // engine's own setting (polyarch's dockerd has one on its command line).
  std::string cgroup_parent;
  // What the engine runs its containers with when `runtime` is "" and it knows (a podman
  // service's runtime): for the report only.
  std::string runtime_binary;
  // Limits every container is given unless its settings name them: name ("nofile") -> soft =
  // hard value (HostConfig.Ulimits). A podman service's container_limits().
  std::map<std::string, int64_t> default_ulimits;
  // Identifies the run: the value of the io.polyarch.run label. Container ids given to the
  // drivers start with it (the suites name them).
  std::string run_id;
  const ImageSet* images = nullptr;
  std::chrono::milliseconds step_timeout{60000};
  // Loading an image can take longer than a step on a busy host.
  std::chrono::milliseconds load_timeout{120000};
  // Optional: containers and images are recorded before they are created and removed from
  // it once deleted.
  Journal* journal = nullptr;
};

// One image as the engine has it, or why it could not be loaded.
struct DockerImage {
  const ArchInfo* arch = nullptr;
  std::string reference;  // polyarch.local/test:<arch>
  std::string id;         // the engine's image ID (= the config digest)
  Status status;          // ok: loaded and inspected with the right platform
};

class DockerLayer : public Layer {
 public:
  // Negotiates the API version (FailedPrecondition below 1.41; Unavailable when the engine
  // does not answer), reads GET /info, then loads every image of options.images and
  // inspects it. An image that fails to load or inspects with the wrong Architecture or
  // Variant does not fail Create: Supports() reports it for that arch.
  static Result<std::unique_ptr<DockerLayer>> Create(const DockerLayerOptions& options);

  DockerLayer(const DockerLayer&) = delete;
  DockerLayer& operator=(const DockerLayer&) = delete;

  std::string_view name() const override { return options_.name; }
  Capabilities capabilities() const override;
  nlohmann::json Context() const override;
  Status Supports(const ArchInfo& arch) const override;
  std::unique_ptr<Driver> NewDriver() override;
  // Force-removes every container with the run label (and any the journal names), removes
  // the images this layer loaded, then checks that List is empty and the images are gone.
  Status Cleanup() override;

  const DockerLayerOptions& options() const { return options_; }
  const DockerVersion& version() const { return version_; }
  const std::map<std::string, DockerImage>& images() const { return images_; }  // by arch
  // The loaded image for `arch`, nullptr when none was attempted.
  const DockerImage* FindImage(const ArchInfo& arch) const;

 private:
  explicit DockerLayer(DockerLayerOptions o) : options_(std::move(o)) {}
  DockerImage Load(EngineClient& client, const BuiltImage& image);
  friend class DockerDriver;

  DockerLayerOptions options_;
  DockerVersion version_;
  std::string storage_driver_;
  nlohmann::json engine_info_ = nlohmann::json::object();  // from GET /info, for Context()
  std::map<std::string, DockerImage> images_;
  std::mutex cleanup_mu_;
};

// One worker's view of the engine: its own EngineClient (one keep-alive connection), not
// thread-safe, created by DockerLayer::NewDriver. Operation names in results are the Engine
// API's ("POST /containers/{id}/start").
class DockerDriver : public Driver {
 public:
  explicit DockerDriver(DockerLayer* layer);

  std::string_view layer_name() const override { return layer_->name(); }
  Capabilities capabilities() const override;

  // POST /containers/create?name=<id>&platform=<os/arch[/variant]> (see DockerCreateBody).
  StepResult Create(const ContainerSpec& spec) override;
  StepResult Start(const std::string& id) override;  // 304 (already started) is a failure
  // GET /containers/{id}/json: State.Status and State.Pid; 404 is kNotFound, not an error.
  StateResult State(const std::string& id) override;
  StepResult Pause(const std::string& id) override;
  StepResult Resume(const std::string& id) override;
  // POST /containers/{id}/exec, POST /exec/{eid}/start (the multiplexed output, read to its
  // end within `timeout`), GET /exec/{eid}/json for ExitCode. An exec the engine refuses
  // (409: the container is not running, or paused) is a failed step, not an exit code; so
  // is one whose process the runtime could not start (dockerd reports those as exit 126 or
  // 127 with "OCI runtime exec failed" written on the process's stdout).
  ExecResult Exec(const std::string& id, const std::vector<std::string>& argv,
                  std::chrono::milliseconds timeout) override;
  StepResult Kill(const std::string& id, int signal) override;
  // POST /containers/{id}/wait?condition=not-running, its answer read within `timeout`
  // (exited = false when it passes). A signal death reads as 128 + signal.
  WaitResult Wait(const std::string& id, std::chrono::milliseconds timeout) override;
  // DELETE /containers/{id}?force=<force>&v=1; without force a running container is
  // refused (409), which is a failed step.
  StepResult Delete(const std::string& id, bool force) override;
  // GET /containers/json?all=1&filters={"label":["io.polyarch.run=<run id>"]}.
  ListResult List() override;

  EngineClient& client() { return client_; }

 private:
  // Sends `rq`; records the transport failure or, for an answer that is not 2xx, the
  // engine's error (with its body as output) in `r`. The answer when there is one.
  std::optional<EngineResponse> Call(StepResult* r, EngineRequest rq);
  StepResult Simple(const char* operation, const char* method, std::string path);

  DockerLayer* layer_;
  EngineClient client_;
};

// The JSON body of POST /containers/create for `spec` (exposed for tests).
// The SpecSettings the Engine API can express, written onto a create body; and their bits.
void ApplyDockerSettings(const SpecSettings& settings, nlohmann::json* body);
uint32_t DockerSpecSettings();

nlohmann::json DockerCreateBody(const ContainerSpec& spec, const std::string& image_reference,
                                const std::string& run_id);
// The same for a layer's own runtime and name (DockerLayerOptions::runtime and name).
nlohmann::json DockerCreateBody(const ContainerSpec& spec, const std::string& image_reference,
                                const DockerLayerOptions& layer);

// The options of layer `name` ("podman:crun") over a podman service: its socket, cgroup
// parent, container limits and runtime; the caller adds run id, images and the rest.
DockerLayerOptions PodmanLayerOptions(const PodmanService& service, const std::string& name);

// State.Status of GET /containers/{id}/json as a ContainerState: created, running, paused,
// restarting (the engine is starting the process again: kCreating), removing, exited and
// dead (no process: kStopped); anything else kUnknown.
ContainerState ParseDockerState(std::string_view status);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_DRIVERS_DOCKER_DOCKER_LAYER_H_
