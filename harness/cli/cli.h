// Shared pieces of the polyarch command line: exit codes, global options, and the
// registration function of each subcommand (one file per subcommand).
#ifndef POLYARCH_HARNESS_CLI_CLI_H_
#define POLYARCH_HARNESS_CLI_CLI_H_

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

#include "harness/core/exit_code.h"
#include "harness/core/status.h"

namespace polyarch {

struct GlobalOptions {
  std::string state_dir = "/var/lib/polyarch";
  bool verbose = false;
  bool quiet = false;

  std::string JournalPath() const { return state_dir + "/journal.jsonl"; }
};

// Prints "polyarch: error: <message>" and returns ExitCodeFor(status).
int Fail(const Status& status);

// The one way a command ends. A subcommand's callback is Command(exit_code, body): `body`
// returns the exit code it decided, or the Status that stopped it, which is printed once by
// Fail and mapped by ExitCodeFor (harness/core/exit_code.h).
using CommandBody = std::function<Result<int>()>;
std::function<void()> Command(int& exit_code, CommandBody body);
// Requires root for commands that change the host or run containers.
Status RequireRoot(std::string_view what);

void AddDoctorCommand(CLI::App& app, const GlobalOptions& global, int& exit_code);
void AddBinfmtCommand(CLI::App& app, const GlobalOptions& global, int& exit_code);
void AddCleanupCommand(CLI::App& app, const GlobalOptions& global, int& exit_code);
void AddImagesCommand(CLI::App& app, const GlobalOptions& global, int& exit_code);
void AddCompareCommand(CLI::App& app, const GlobalOptions& global, int& exit_code);
void AddMergeCommand(CLI::App& app, const GlobalOptions& global, int& exit_code);
void AddRunCommand(CLI::App& app, const GlobalOptions& global, int& exit_code,
                   const std::string& command_line);

// <directory of the polyarch binary>/probe: where the build puts the probes.
std::string DefaultProbeDir();

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_CLI_CLI_H_
