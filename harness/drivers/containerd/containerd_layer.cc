#include "harness/drivers/containerd/containerd_layer.h"

#include <algorithm>

#include "harness/core/fs.h"
#include "harness/core/log.h"
#include "harness/core/timing.h"
#include "harness/drivers/containerd/containerd_internal.h"
#include "harness/drivers/containerd/translate.h"
#include "images/oci.h"

namespace polyarch {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
namespace api = ctd::api;
using namespace ctd;  // the layer's own constants and helpers (containerd_internal.h)

// ---------------------------------------------------------------------------------------------
// The layer.

Result<std::unique_ptr<ContainerdLayer>> ContainerdLayer::Create(
    const ContainerdLayerOptions& options) {
  if (options.address.empty()) return InvalidArgument("no containerd address given");
  if (options.run_dir.empty() || options.run_dir[0] != '/') {
    return InvalidArgument("the containerd layer needs an absolute run directory, got '" +
                           options.run_dir + "'");
  }
  const size_t colon = options.name.find(':');
  const std::string ns = ctd::NamespaceForRun(options.run_id) +
                         (options.name == "containerd" || colon == std::string::npos
                              ? ""
                              : "-" + options.name.substr(colon + 1));
  PA_RETURN_IF_ERROR(ctd::ValidateIdentifier(ns, "containerd namespace"));

  std::unique_ptr<ContainerdLayer> layer(new ContainerdLayer(options));
  layer->client_ = std::make_shared<ctd::ContainerdClient>(options.address, ns);
  const auto& c = *layer->client_;
  google::protobuf::Empty empty;
  api::version::VersionResponse version;
  Status s = c.Call("Version.Version", options.step_timeout, [&](grpc::ClientContext* ctx) {
    return c.version().Version(ctx, empty, &version);
  });
  if (!s.ok()) {
    return Status(s.code(), "containerd at " + options.address + " does not answer (" +
                                s.message() + "): start it, or let polyarch start its own");
  }
  layer->version_ = version.version();
  layer->revision_ = version.revision();

  // containerd daemonizes each shim; when containerd is polyarch's own child, a subreaper
  // polyarch inherits the shims and reaps them when they exit. Otherwise they go to PID 1,
  // which in some sandboxes never reaps, and every container leaves a zombie behind.
  Status reaper = Reaper::Instance().Enable();
  if (!reaper.ok()) {
    PA_LOG(kWarning) << "containerd shims will not be reaped by polyarch: " << reaper.ToString();
  }

  // Per namespace: two runs sharing a run directory must not share runc's state or FIFOs.
  layer->work_dir_ = options.run_dir + "/containerd-driver/" + ns;
  layer->io_dir_ = layer->work_dir_ + "/io";
  layer->runc_root_ = layer->work_dir_ + "/runc";
  s = MakeDirs(layer->io_dir_, 0700);
  if (s.ok()) s = MakeDirs(layer->runc_root_, 0700);
  if (s.ok()) s = layer->CreateNamespace();
  if (!s.ok()) {
    (void)RemoveTree(layer->work_dir_);
    (void)::rmdir((options.run_dir + "/containerd-driver").c_str());
    return s;
  }
  if (options.images != nullptr) {
    s = layer->ImportImages();
    if (!s.ok()) {
      Status cleanup = layer->Cleanup();
      if (!cleanup.ok()) {
        PA_LOG(kWarning) << "containerd cleanup after a failed import: " << cleanup.ToString();
      }
      return s.WithContext("importing the images into containerd");
    }
  }
  return layer;
}

ContainerdLayer::~ContainerdLayer() { CloseAllStdio(); }

void ContainerdLayer::CloseAllStdio() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [id, io] : stdio_) {
    drain_.Close(io.out);
    drain_.Close(io.err);
  }
  stdio_.clear();
}

Status ContainerdLayer::CreateNamespace() {
  const auto& c = *client_;
  JournalAdd(kKindNamespace, c.ns(), {{"address", options_.address}, {"run", options_.run_id}});
  api::namespaces::CreateNamespaceRequest req;
  api::namespaces::CreateNamespaceResponse resp;
  req.mutable_namespace_()->set_name(c.ns());
  (*req.mutable_namespace_()->mutable_labels())[ctd::kOwnerLabel] = ctd::kOwnerValue;
  (*req.mutable_namespace_()->mutable_labels())[ctd::kRunLabel] = options_.run_id;
  Status s = c.Call("Namespaces.Create", options_.step_timeout, [&](grpc::ClientContext* ctx) {
    return c.namespaces().Create(ctx, req, &resp);
  });
  if (s.code() != Code::kAlreadyExists) return s;
  // A namespace of this very run (a retried Create) may be reused; anyone else's may not.
  api::namespaces::GetNamespaceRequest greq;
  api::namespaces::GetNamespaceResponse gresp;
  greq.set_name(c.ns());
  PA_RETURN_IF_ERROR(c.Call("Namespaces.Get", options_.step_timeout, [&](grpc::ClientContext* ctx) {
    return c.namespaces().Get(ctx, greq, &gresp);
  }));
  const auto& labels = gresp.namespace_().labels();
  auto owner = labels.find(ctd::kOwnerLabel);
  auto run = labels.find(ctd::kRunLabel);
  if (owner == labels.end() || owner->second != ctd::kOwnerValue || run == labels.end() ||
      run->second != options_.run_id) {
    // Not ours: it must not stay in our journal, or a sweep would empty someone's namespace.
    JournalRemove(kKindNamespace, c.ns());
    return AlreadyExists("containerd namespace " + c.ns() +
                         " exists and is not this polyarch run's: choose another run id");
  }
  return Status::Ok();
}

void ContainerdLayer::JournalAdd(const std::string& kind, const std::string& key,
                                 nlohmann::json data) {
  if (options_.journal == nullptr) return;
  data["address"] = options_.address;
  Status s = options_.journal->Add({kind, key, std::move(data)});
  if (!s.ok()) {
    PA_LOG(kWarning) << "journal: " << s.ToString();
  }
}

void ContainerdLayer::JournalRemove(const std::string& kind, const std::string& key) {
  if (options_.journal == nullptr) return;
  Status s = options_.journal->Remove(kind, key);
  if (!s.ok()) {
    PA_LOG(kWarning) << "journal: " << s.ToString();
  }
}

Capabilities ContainerdLayer::capabilities() const {
  Capabilities caps;
  caps.pause = true;
  caps.exec = true;
  caps.kill = true;
  caps.wait_exit_code = true;
  caps.state_pid = true;
  caps.created_state = true;
  caps.settings = kAllSpecSettings;  // the container's OCI spec is passed on as it is
  return caps;
}

nlohmann::json ContainerdLayer::Context() const {
  nlohmann::json images = nlohmann::json::object();
  for (const auto& [arch, chain] : chains_) {
    images[arch] = {{"manifest", manifests_.count(arch) ? manifests_.at(arch) : ""},
                    {"chain_id", chain}};
  }
  nlohmann::json unusable = nlohmann::json::object();
  for (const auto& [arch, why] : unsupported_) unusable[arch] = why;
  return {{"layer", options_.name},
          {"api", "gRPC"},
          {"address", options_.address},
          {"version", version_},
          {"revision", revision_},
          {"namespace", client_->ns()},
          {"runtime", ctd::kRuntime},
          {"snapshotter", ctd::kSnapshotter},
          {"runc_root", runc_root_},
          {"images", images},
          {"unsupported", unusable},
          {"runtime_binary", options_.runtime_binary.empty() ? "runc" : options_.runtime_binary}};
}

std::string ContainerdLayer::ChainFor(const ArchInfo& arch) const {
  auto it = chains_.find(std::string(arch.name));
  return it == chains_.end() ? "" : it->second;
}

Status ContainerdLayer::Supports(const ArchInfo& arch) const {
  const std::string name(arch.name);
  if (chains_.count(name)) return Status::Ok();
  auto it = unsupported_.find(name);
  if (it != unsupported_.end()) {
    return FailedPrecondition("the " + name +
                              " image could not be unpacked in containerd: " + it->second);
  }
  return FailedPrecondition("no " + name + " image was imported into containerd");
}

std::unique_ptr<Driver> ContainerdLayer::NewDriver() {
  return std::make_unique<ContainerdDriver>(this);
}

}  // namespace polyarch
