// Shared pieces of the polyarch command line: exit codes, global options, and the
// registration function of each subcommand (one file per subcommand).
#ifndef POLYARCH_HARNESS_CLI_CLI_H_
#define POLYARCH_HARNESS_CLI_CLI_H_

#include <string>

#include <CLI/CLI.hpp>

#include "harness/core/status.h"

namespace polyarch {

// Documented in README.md; CI gates on them.
enum ExitCode : int {
  kExitOk = 0,           // everything checked passed
  kExitCheckFailed = 1,  // a check, case or proof failed
  kExitUsage = 2,        // usage error or bad input; nothing was changed
  kExitEnvironment = 3,  // the host cannot be used as it is (not root, binfmt_misc missing, ...)
  kExitAborted = 4,      // interrupted
};

struct GlobalOptions {
  std::string state_dir = "/var/lib/polyarch";
  bool verbose = false;
  bool quiet = false;

  std::string JournalPath() const { return state_dir + "/journal.jsonl"; }
};

// The exit code for a Status that stops a command: bad input is a usage error, everything
// else means the environment is not usable.
int ExitCodeFor(const Status& status);
// Prints "polyarch: error: <message>" and returns ExitCodeFor(status).
int Fail(const Status& status);
// Requires root for commands that change the host or run containers.
Status RequireRoot(std::string_view what);

void AddDoctorCommand(CLI::App& app, const GlobalOptions& global, int& exit_code);
void AddBinfmtCommand(CLI::App& app, const GlobalOptions& global, int& exit_code);
void AddCleanupCommand(CLI::App& app, const GlobalOptions& global, int& exit_code);
void AddImagesCommand(CLI::App& app, const GlobalOptions& global, int& exit_code);
void AddCompareCommand(CLI::App& app, const GlobalOptions& global, int& exit_code);
void AddRunCommand(CLI::App& app, const GlobalOptions& global, int& exit_code,
                   const std::string& command_line);

// <directory of the polyarch binary>/probe: where the build puts the probes.
std::string DefaultProbeDir();

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_CLI_CLI_H_
