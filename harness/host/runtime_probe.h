// Whether an OCI runtime accepts this host as it is, learned by running a container.
#ifndef POLYARCH_HARNESS_HOST_RUNTIME_PROBE_H_
#define POLYARCH_HARNESS_HOST_RUNTIME_PROBE_H_

#include <cstdint>
#include <string>

#include "harness/core/status.h"
#include "harness/core/subprocess.h"

namespace polyarch {

// Runs one container to completion with `binary` (a static native program that exits 42, in
// an otherwise empty rootfs) under a temporary directory in `work_dir` ("" for $TMPDIR).
// Returns the run's wall time in ms. FailedPrecondition names the cause and the fix when
// the runtime refuses (crun 1.8 on a hybrid cgroup layout whose v2 hierarchy holds
// controllers).
Result<int64_t> ProbeOciRuntime(const std::string& name, const std::string& binary,
                                const std::string& work_dir = "");

// "exit 1: <the runtime's message>", keeping only the msg="..." part of logrus-style lines.
std::string RuntimeFailure(const ProcessResult& r);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_HOST_RUNTIME_PROBE_H_
