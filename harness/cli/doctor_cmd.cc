// polyarch doctor [--json] [--fix]
#include <iostream>
#include <memory>

#include "binfmt/arch.h"
#include "harness/cli/cli.h"
#include "harness/host/doctor.h"

namespace polyarch {

void AddDoctorCommand(CLI::App& app, const GlobalOptions& global, int& exit_code) {
  struct Opts {
    bool json = false;
    bool fix = false;
    bool no_runtime_probe = false;
    std::string arch = "all";
    std::string emulator_dir = "/usr/bin";
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand(
      "doctor",
      "Check whether this host can run the container stack across architectures.\n"
      "Each check is ok, warn or fail with a reason and a hint. Plain doctor changes nothing;\n"
      "--fix applies the documented fixes (mount binfmt_misc; on a hybrid cgroup layout,\n"
      "mount a v1 hierarchy for each controller held in v2 so crun accepts the host),\n"
      "prints exactly what it changed, then checks again.\n"
      "Exit: 0 no check failed (warnings allowed), 1 a check failed, 2 usage.");
  cmd->add_flag("--json", o->json, "Print the checks as one JSON document (schema_version 1)");
  cmd->add_flag("--fix", o->fix, "Apply the documented fixes for what was found, then re-check");
  cmd->add_flag("--no-runtime-probe", o->no_runtime_probe,
                "Do not run a test container with each OCI runtime");
  cmd->add_option("--arch", o->arch, "Emulators to check: all, or a list such as s390x,arm64")
      ->capture_default_str();
  cmd->add_option("--emulator-dir", o->emulator_dir, "Where qemu-<arch>-static live")
      ->capture_default_str();
  cmd->callback(Command(exit_code, [o, &global]() -> Result<int> {
    auto arches = ParseArchList(o->arch, ArchScope::kEmulated);
    if (!arches.ok()) return arches.status();
    if (o->fix) {
      PA_RETURN_IF_ERROR(RequireRoot("doctor --fix"));
    }
    DoctorOptions options;
    options.state_dir = global.state_dir;
    options.emulator_dir = o->emulator_dir;
    options.arches = *arches;
    options.probe_runtimes = !o->no_runtime_probe;
    DoctorReport report = RunDoctor(options);
    std::vector<FixResult> fixes;
    if (o->fix) {
      fixes = ApplyFixes(report);
      if (!fixes.empty()) report = RunDoctor(options);  // report the host as it is now
    }
    if (o->json) {
      std::cout
          << DoctorJson(report, fixes).dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
          << "\n";
    } else {
      std::cout << DoctorText(report, fixes);
      if (!o->fix && report.Overall() != CheckStatus::kOk) {
        bool fixable = false;
        for (const auto& c : report.checks)
          fixable |= !c.fix.empty() && c.status != CheckStatus::kOk;
        if (fixable) std::cout << "some findings can be fixed: polyarch doctor --fix\n";
      }
    }
    bool fix_failed = false;
    for (const auto& f : fixes) fix_failed |= !f.status.ok();
    return (report.Overall() == CheckStatus::kFail || fix_failed) ? kExitCheckFailed : kExitOk;
  }));
}

}  // namespace polyarch
