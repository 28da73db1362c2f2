// `polyarch doctor`: is this host able to run the whole stack across architectures?
//
// Each check is a value (id, status, what was found, why, what to do). Checks that need a
// probe do it for real in a throw-away child (a namespace is created, an overlay mounted, a
// container run) so the answer is what the kernel and runtimes actually do. Plain doctor
// leaves the host as it found it; ApplyFixes makes the documented changes and says which.
#ifndef POLYARCH_HARNESS_HOST_DOCTOR_H_
#define POLYARCH_HARNESS_HOST_DOCTOR_H_

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "binfmt/arch.h"
#include "harness/core/status.h"
#include "harness/host/facts.h"

namespace polyarch {

enum class CheckStatus { kOk, kWarn, kFail };
std::string_view CheckStatusName(CheckStatus s);

struct Check {
  std::string id;        // "kernel.version", "emulator.s390x", "runtime.crun.accepts_host"
  std::string category;  // kernel, binfmt, emulator, namespaces, cgroup, storage, runtime
  CheckStatus status = CheckStatus::kOk;
  std::string found;   // what was observed: "6.18.44", "hybrid", "crun 1.8.1"
  std::string reason;  // why this status
  std::string hint;    // what to do about it; empty when nothing is needed
  std::string fix;     // the ApplyFixes action that addresses it; empty when none
  nlohmann::json details = nlohmann::json::object();
};

struct DoctorOptions {
  std::string state_dir = "/var/lib/polyarch";  // free disk is checked here
  std::string emulator_dir = "/usr/bin";
  std::vector<const ArchInfo*> arches;  // emulators to check; empty: every emulated arch
  bool probe_runtimes = true;           // run a real container with each OCI runtime
};

struct DoctorReport {
  HostFacts host;
  std::vector<Check> checks;
  int Count(CheckStatus s) const;
  CheckStatus Overall() const;
};

DoctorReport RunDoctor(const DoctorOptions& options);

struct FixResult {
  std::string fix;
  std::string change;  // exactly what was changed on the host
  Status status;
};

// Applies each distinct fix named by a non-ok check: mounting binfmt_misc; mounting a v1
// hierarchy for every controller a hybrid layout keeps in cgroup v2 (crun 1.8 refuses such
// a layout). Nothing else is ever changed.
std::vector<FixResult> ApplyFixes(const DoctorReport& report);

inline constexpr int kDoctorSchemaVersion = 1;
nlohmann::json DoctorJson(const DoctorReport& report, const std::vector<FixResult>& fixes);
std::string DoctorText(const DoctorReport& report, const std::vector<FixResult>& fixes);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_HOST_DOCTOR_H_
