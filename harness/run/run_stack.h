// The layers and daemons of a run: the private containerd and dockerd its layers need (or
// the external ones the plan names), one layer per name in the plan, and their teardown.
// A layer that cannot be had is kept as a slot holding the reason, so its cases become skips.
#ifndef POLYARCH_HARNESS_RUN_RUN_STACK_H_
#define POLYARCH_HARNESS_RUN_RUN_STACK_H_

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/core/journal.h"
#include "harness/daemons/containerd_daemon.h"
#include "harness/daemons/dockerd_daemon.h"
#include "harness/daemons/podman_service.h"
#include "harness/drivers/driver.h"
#include "harness/run/plan.h"
#include "images/builder.h"
#include "suites/restart/restart.h"

namespace polyarch {

struct LayerSlot {
  std::string name;
  std::unique_ptr<Layer> layer;
  std::string unavailable;  // why its cases are skipped, when there is no layer
};

struct StackOptions {
  const Plan* plan = nullptr;
  std::string run_id;
  std::string run_dir;  // daemons live in <run_dir>/daemons
  const ImageSet* images = nullptr;
  Journal* journal = nullptr;
};

class RunStack {
 public:
  // Starts what the plan's layers need and creates every layer. Never fails as a whole: what
  // is missing is recorded in its slot and in DaemonsContext().
  void Start(const StackOptions& options);

  const std::vector<std::unique_ptr<LayerSlot>>& layers() const { return layers_; }
  // The daemons' pids (for CPU accounting), owned or not.
  std::vector<int> DaemonPids() const;
  // For the report's context: context.daemons and context.layers.
  const nlohmann::json& DaemonsContext() const { return daemons_context_; }
  nlohmann::json LayersContext() const;

  // The restart suite's scenarios over the plan's daemon layers, in the order they run:
  // dockerd without and with live-restore, each podman service, containerd SIGTERM and
  // SIGKILL (last: dockerd runs on it). A daemon polyarch did not start (--containerd-address,
  // --docker-host) is not restarted: its scenarios' cases are skipped, saying so. The
  // targets point into this stack.
  std::vector<RestartScenario> RestartScenarios();

  // Cleans every layer up, then stops the daemons polyarch started (layers before their
  // daemons). `layers` and `daemons` get {ok, error} per name; each thing not done is added
  // to `problems`.
  void Stop(nlohmann::json* layers, nlohmann::json* daemons, std::vector<std::string>* problems);

 private:
  std::unique_ptr<ContainerdDaemon> containerd_;
  std::unique_ptr<DockerdDaemon> dockerd_;
  std::vector<std::unique_ptr<PodmanService>> podman_;  // one per podman layer
  std::string containerd_address_, containerd_unavailable_, dockerd_unavailable_;
  bool external_containerd_ = false, external_dockerd_ = false;
  std::vector<std::unique_ptr<LayerSlot>> layers_;
  nlohmann::json daemons_context_ = nlohmann::json::object();
};

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_RUN_RUN_STACK_H_
