#include "harness/host/runtime_probe.h"

#include <unistd.h>

#include "binfmt/arch.h"
#include "binfmt/proof.h"
#include "harness/core/fs.h"
#include "harness/core/oci_spec.h"

namespace polyarch {

std::string RuntimeFailure(const ProcessResult& r) {
  auto trimmed = [](std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  };
  std::string text = trimmed(r.err.Text());
  if (text.empty()) text = trimmed(r.out.Text());
  // runc and crun print logrus-style lines: keep the msg="..." part when there is one.
  auto msg = text.find("msg=\"");
  if (msg != std::string::npos) {
    auto end = text.find('"', msg + 5);
    text = text.substr(msg + 5, end == std::string::npos ? std::string::npos : end - msg - 5);
  }
  return r.Describe() + (text.empty() ? "" : ": " + text);
}

Result<int64_t> ProbeOciRuntime(const std::string& name, const std::string& binary,
                                const std::string& work_dir) {
  const ArchInfo* host = HostArch();
  if (host == nullptr) return FailedPrecondition("no native test program for this host");
  PA_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create("polyarch-probe-" + name + "-", work_dir));
  const std::string bundle = dir.path() + "/bundle";
  const std::string state = dir.path() + "/state";
  PA_RETURN_IF_ERROR(MakeDirs(bundle + "/rootfs/proc"));
  PA_RETURN_IF_ERROR(MakeDirs(bundle + "/rootfs/dev"));
  PA_RETURN_IF_ERROR(MakeDirs(state, 0700));
  PA_RETURN_IF_ERROR(WriteFileAtomic(bundle + "/rootfs/exit42", BuildExitElf(*host), 0755));
  OciSpecOptions spec;
  spec.args = {"/exit42"};
  spec.readonly_root = true;
  spec.hostname = "polyarch-probe";
  PA_RETURN_IF_ERROR(WriteFileAtomic(bundle + "/config.json", MakeOciSpec(spec).dump(2)));
  const std::string id = "polyarch-probe-" + std::to_string(::getpid()) + "-" + name;
  auto res = RunProcess({binary, "--root", state, "run", "--bundle", bundle, id},
                        std::chrono::seconds(60));
  (void)RunProcess({binary, "--root", state, "delete", "--force", id}, std::chrono::seconds(20));
  if (!res.ok()) return res.status();
  if (res->exited && res->exit_code == kProofExitCode) return res->wall.count() / 1000000;
  std::string why = RuntimeFailure(*res);
  if (why.find("hybrid mode") != std::string::npos) {
    return FailedPrecondition(
        name + " refuses this host's cgroup layout (" + why +
        "); polyarch doctor explains it (cgroup.hybrid_v2_controllers) and 'polyarch doctor "
        "--fix' mounts the v1 hierarchy that moves the controller out of cgroup v2");
  }
  return FailedPrecondition(name + " could not run a test container: " + why);
}

}  // namespace polyarch
