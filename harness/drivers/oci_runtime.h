// The "runtime" layer: an OCI runtime driven through its command-line interface.
//
// One class serves runc and crun (and any runtime with the same verbs: youki, runsc); the
// binary is a parameter. Each run gets its own --root state directory, so `list` shows
// only the run's containers. A container's bundle is a directory of the run holding only
// config.json, whose root.path points read-only at the image's rootfs; /tmp is a tmpfs.
// The runtime CLI never reports a container's exit status, so polyarch becomes a child
// subreaper (Reaper) and waits for the adopted init process itself.
#ifndef POLYARCH_HARNESS_DRIVERS_OCI_RUNTIME_H_
#define POLYARCH_HARNESS_DRIVERS_OCI_RUNTIME_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "harness/core/journal.h"
#include "harness/drivers/driver.h"
#include "harness/host/runtime_probe.h"
#include "images/builder.h"

namespace polyarch {

struct OciRuntimeOptions {
  std::string name;     // layer name: "runc", "crun"
  std::string binary;   // path or name in PATH
  std::string run_dir;  // the run's directory; the layer works under <run_dir>/<name>
  const ImageSet* images = nullptr;
  std::chrono::milliseconds step_timeout{60000};
  // Optional: each container is recorded before it is created and forgotten once deleted,
  // so a killed run's containers can be found and removed later.
  Journal* journal = nullptr;
};

// What `<runtime> state <id>` prints (OCI runtime-spec state JSON): status and pid.
struct OciState {
  ContainerState state = ContainerState::kUnknown;
  int pid = 0;
};
// InvalidArgument for anything that is not a state object with a known status.
Result<OciState> ParseOciState(std::string_view text);
// What `<runtime> list --format json` prints: the container ids ("null" is an empty list).
Result<std::vector<std::string>> ParseOciList(std::string_view text);

class OciRuntimeLayer : public Layer {
 public:
  // Checks the binary and the runtime's acceptance of the host, creates the state root, and
  // makes polyarch a subreaper so exit statuses can be collected.
  static Result<std::unique_ptr<OciRuntimeLayer>> Create(const OciRuntimeOptions& options);

  std::string_view name() const override { return options_.name; }
  Capabilities capabilities() const override;
  nlohmann::json Context() const override;
  Status Supports(const ArchInfo& arch) const override;
  std::unique_ptr<Driver> NewDriver() override;
  Status Cleanup() override;

  const std::string& state_root() const { return state_root_; }
  const std::string& binary() const { return binary_; }

 private:
  explicit OciRuntimeLayer(OciRuntimeOptions o) : options_(std::move(o)) {}
  friend class OciRuntimeDriver;

  OciRuntimeOptions options_;
  std::string binary_;
  std::string version_;
  std::string state_root_;
  std::string containers_dir_;
  // What polyarch knows of each container's init process, shared by this layer's drivers
  // (a container may be created by one worker and reaped by Cleanup).
  struct Init {
    int pid = 0;
    bool reaped = false;
    int exit_code = -1;  // once reaped: as a shell reports it (128 + signal for a signal)
  };
  std::mutex mu_;
  std::map<std::string, Init> inits_;
};

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_DRIVERS_OCI_RUNTIME_H_
