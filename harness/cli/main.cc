// polyarch: multi-arch emulation and conformance harness for the Linux container stack.
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <iostream>

#include "harness/cli/cli.h"
#include "harness/core/log.h"

namespace polyarch {

int Fail(const Status& status) {
  PA_LOG(kError) << status.message();
  return ExitCodeFor(status);
}

std::function<void()> Command(int& exit_code, CommandBody body) {
  return [&exit_code, body = std::move(body)] {
    Result<int> outcome = body();
    exit_code = outcome.ok() ? *outcome : Fail(outcome.status());
  };
}

Status RequireRoot(std::string_view what) {
  if (::geteuid() == 0) return Status::Ok();
  return PermissionDenied(std::string(what) +
                          " needs root (binfmt_misc, mounts and container "
                          "runtimes are root-only); run it with sudo");
}

}  // namespace polyarch

int main(int argc, char** argv) {
  using namespace polyarch;
  // A closed pipe (polyarch ... | head) must end output quietly, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);

  CLI::App app{
      "polyarch: registers QEMU user-mode emulators with binfmt_misc, builds tiny\n"
      "per-architecture images, and drives runc, crun, containerd and dockerd through\n"
      "conformance, throughput and cross-architecture suites.\n\n"
      "Exit codes: 0 ok, 1 a check failed, 2 usage or bad input, 3 environment not usable,\n"
      "4 aborted.",
      "polyarch"};
  app.set_version_flag("--version", std::string("polyarch ") + POLYARCH_VERSION);
  app.require_subcommand(1);
  app.fallthrough();

  GlobalOptions global;
  if (const char* s = std::getenv("POLYARCH_STATE_DIR"); s && *s) global.state_dir = s;
  app.add_option("--state-dir", global.state_dir,
                 "Where polyarch keeps its journal and run directories (env POLYARCH_STATE_DIR)")
      ->capture_default_str();
  app.add_flag("-v,--verbose", global.verbose, "Log debug detail to stderr");
  app.add_flag("-q,--quiet", global.quiet, "Log only errors to stderr");

  int exit_code = kExitOk;
  AddDoctorCommand(app, global, exit_code);
  AddBinfmtCommand(app, global, exit_code);
  AddCleanupCommand(app, global, exit_code);
  AddImagesCommand(app, global, exit_code);
  AddCompareCommand(app, global, exit_code);
  AddMergeCommand(app, global, exit_code);
  std::string command_line;
  for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);
  AddRunCommand(app, global, exit_code, command_line);

  app.parse_complete_callback([&] {
    if (global.verbose) SetLogLevel(LogLevel::kDebug);
    if (global.quiet) SetLogLevel(LogLevel::kError);
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  return exit_code;
}
