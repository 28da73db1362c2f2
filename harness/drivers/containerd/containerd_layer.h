// The "supervisor" layer: containerd 1.6 driven through its gRPC API (not the ctr CLI), with
// the runc v2 shim and the overlayfs snapshotter.
//
// One run owns one containerd namespace per containerd layer, "polyarch-<run id>" (and
// "polyarch-<run id>-crun" for containerd:crun), labelled as polyarch's. Create
// brings the run's images in (Content.Write of every blob of the OCI layout, Images.Create of
// the multi-arch index) and unpacks each arch's single layer into a committed overlayfs
// snapshot named by its chain id, all under a lease so GC cannot take anything half-done.
// Containers are then cheap: Containers.Create, Snapshots.Prepare on the chain, Tasks.Create.
// Cleanup empties the namespace and deletes it.
//
// Paths containerd would otherwise put outside the run are redirected into
// <run_dir>/containerd-driver/<namespace>: runc's state root (a runc option) and the
// containers' stdio FIFOs. The shim's own socket in /run/containerd/s/ is fixed by containerd; the
// shim removes it when it exits.
#ifndef POLYARCH_HARNESS_DRIVERS_CONTAINERD_CONTAINERD_LAYER_H_
#define POLYARCH_HARNESS_DRIVERS_CONTAINERD_CONTAINERD_LAYER_H_

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "harness/core/journal.h"
#include "harness/drivers/containerd/containerd_client.h"
#include "harness/drivers/containerd/fifo_drain.h"
#include "harness/drivers/driver.h"
#include "images/builder.h"

namespace polyarch {

struct ContainerdLayerOptions {
  // The layer's name: "containerd" (containerd:runc) has the run's namespace; another,
  // ENGINE:RUNTIME, a namespace of its own, "polyarch-<run_id>-<runtime>".
  std::string name = "containerd";
  std::string address;  // containerd's gRPC unix socket (ContainerdDaemon::address(), or an
                        // external daemon's)
  std::string run_id;   // names the namespace "polyarch-<run_id>" and labels what is created
  std::string run_dir;  // absolute; the layer works in <run_dir>/containerd-driver/<namespace>
  // Imported and unpacked once by Create; nullptr imports nothing (every arch unsupported).
  const ImageSet* images = nullptr;
  std::chrono::milliseconds step_timeout{60000};  // deadline of every gRPC call but Wait/Exec
  Journal* journal = nullptr;  // optional: what is created is recorded before it is created
  std::string runtime_binary;  // what the runc shim runs instead of runc ("" = runc)
};

class ContainerdLayer : public Layer {
 public:
  // Connects, reads the daemon's version, creates the run's namespace and imports and
  // unpacks the images. A daemon that does not answer is kUnavailable; an arch whose image
  // could not be unpacked is not an error here: Supports() says why.
  static Result<std::unique_ptr<ContainerdLayer>> Create(const ContainerdLayerOptions& options);
  ~ContainerdLayer() override;  // closes FIFOs; removes nothing from containerd (Cleanup does)

  std::string_view name() const override { return options_.name; }
  Capabilities capabilities() const override;
  nlohmann::json Context() const override;
  Status Supports(const ArchInfo& arch) const override;
  std::unique_ptr<Driver> NewDriver() override;
  Status Cleanup() override;

  const std::string& ns() const { return client_->ns(); }
  const std::string& version() const { return version_; }
  const std::string& work_dir() const { return work_dir_; }
  const std::string& runc_root() const { return runc_root_; }  // runc keeps <root>/<ns>/<id>
  // The committed snapshot a container of `arch` starts from; empty when not unpacked.
  std::string ChainFor(const ArchInfo& arch) const;
  const ctd::ContainerdClient& client() const { return *client_; }

 private:
  explicit ContainerdLayer(ContainerdLayerOptions o) : options_(std::move(o)) {}
  friend class ContainerdDriver;

  struct Stdio {  // a container's stdout and stderr FIFOs feeding one capture
    ctd::FifoDrain::Handle out = 0, err = 0;
    std::shared_ptr<ctd::OutputSink> sink;
  };

  Status CreateNamespace();
  Status ImportImages();
  Status WriteBlob(const std::string& digest, int64_t size,
                   const std::map<std::string, std::string>& labels);
  Status Unpack(const BuiltImage& image);
  Status DeleteLease(const std::string& id);
  void CloseAllStdio();

  // Cleanup's steps, in order (containerd_cleanup.cc).
  Status CleanupContainers();
  Status CleanupImagesAndLeases();
  Status CleanupSnapshots();
  Status CleanupContent();
  Status VerifyNamespaceEmpty();
  Status DeleteNamespace();
  Status RemoveWorkDir(bool everything_else_ok);
  Status ListSnapshots(std::vector<std::string>* names) const;
  void JournalAdd(const std::string& kind, const std::string& key, nlohmann::json data);
  void JournalRemove(const std::string& kind, const std::string& key);

  ContainerdLayerOptions options_;
  std::shared_ptr<ctd::ContainerdClient> client_;
  std::string version_, revision_;
  std::string work_dir_, io_dir_, runc_root_;
  std::string lease_;                               // the import lease while Create runs
  std::map<std::string, std::string> chains_;       // arch name -> chain id
  std::map<std::string, std::string> unsupported_;  // arch name -> why
  std::map<std::string, std::string> manifests_;    // arch name -> manifest digest, for Context

  ctd::FifoDrain drain_;
  std::mutex mu_;
  std::map<std::string, Stdio> stdio_;  // container id -> its stdio
  std::atomic<uint64_t> exec_seq_{0};
};

// One per worker thread; shares the layer's gRPC client and FIFO drain. A container is
// Containers.Create + Snapshots.Prepare(id, chain) + Tasks.Create (state "created"); Delete
// is Tasks.Delete + Snapshots.Remove + Containers.Delete, after Kill(SIGKILL) + Wait when
// forced. Wait's output is what the container wrote (stdout and stderr interleaved, bounded).
class ContainerdDriver : public Driver {
 public:
  explicit ContainerdDriver(ContainerdLayer* layer) : layer_(layer) {}

  std::string_view layer_name() const override { return layer_->name(); }
  Capabilities capabilities() const override { return layer_->capabilities(); }

  StepResult Create(const ContainerSpec& spec) override;
  StepResult Start(const std::string& id) override;
  StateResult State(const std::string& id) override;
  StepResult Pause(const std::string& id) override;
  StepResult Resume(const std::string& id) override;
  ExecResult Exec(const std::string& id, const std::vector<std::string>& argv,
                  std::chrono::milliseconds timeout) override;
  StepResult Kill(const std::string& id, int signal) override;
  WaitResult Wait(const std::string& id, std::chrono::milliseconds timeout) override;
  StepResult Delete(const std::string& id, bool force) override;
  ListResult List() override;

 private:
  const ctd::ContainerdClient& c() const { return *layer_->client_; }
  std::chrono::milliseconds step() const { return layer_->options_.step_timeout; }

  // The steps of Create, Exec and Delete, timed as one by their verb.
  Status CreateSteps(const ContainerSpec& spec);
  Status ExecSteps(const std::string& id, const std::vector<std::string>& argv,
                   std::chrono::milliseconds timeout, ExecResult* r);
  Status DeleteSteps(const std::string& id, bool force);
  // Kills the task (resuming it first if paused: a frozen process does not die) and waits
  // for it to stop. kNotFound when there is no task.
  Status StopTask(const std::string& id);
  // Undoes a Create that failed half-way; best effort.
  void Rollback(const std::string& id, bool snapshot);
  void CloseStdio(const std::string& id);

  ContainerdLayer* layer_;
};

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_DRIVERS_CONTAINERD_CONTAINERD_LAYER_H_
