// polyarch merge REPORT... --out DIR: shards of one plan into one report, or the same plan's
// runs on several hosts into a fleet report (harness/merge/merge.h).
#include <sys/stat.h>
#include <unistd.h>

#include <iostream>
#include <memory>

#include "harness/cli/cli.h"
#include "harness/compare/compare.h"
#include "harness/core/fs.h"
#include "harness/merge/merge.h"
#include "harness/report/console_reporter.h"
#include "harness/report/html_reporter.h"
#include "harness/report/json_reporter.h"
#include "harness/report/junit_reporter.h"

namespace polyarch {

void AddMergeCommand(CLI::App& app, const GlobalOptions& /*global*/, int& exit_code) {
  struct Opts {
    std::vector<std::string> reports;
    std::string out;
    bool no_color = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand(
      "merge",
      "Merge reports written by `polyarch run` (report.json), in one of two modes chosen from\n"
      "what it is given:\n"
      "  shards (every report from `run --shard I/N`): one report.json, junit.xml and\n"
      "    report.html as the unsharded run would have written them; a shard missing, given\n"
      "    twice or of another plan (plan fingerprint) is an error naming the file;\n"
      "  fleet (whole runs of the same plan, one per host, told apart by --node or hostname):\n"
      "    fleet.json and fleet.html: host x layer x arch, each host's verdict, the cases that\n"
      "    differ between hosts, throughput side by side, and the context fields (kernel, QEMU,\n"
      "    runtime versions) that differ, beside the failures they line up with.\n"
      "The merged report.json is a report like any other: `polyarch compare` takes it.\n"
      "Exit: as `run`: 0 all passed, 1 a case failed, 2 bad input (unreadable report, missing,\n"
      "duplicated or foreign shard), 3 the output could not be written, 4 a run was interrupted.");
  cmd->add_option("REPORT", o->reports, "report.json files (or directories holding one)")
      ->required();
  cmd->add_option("--out", o->out, "Directory the merged report goes to (created)")->required();
  cmd->add_flag("--no-color", o->no_color, "No ANSI colors on the console");
  cmd->callback(Command(exit_code, [o]() -> Result<int> {
    std::vector<NamedReport> reports;
    for (std::string path : o->reports) {
      struct stat st {};
      if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) path += "/report.json";
      auto r = LoadReportFile(path);
      if (!r.ok()) return r.status();
      reports.push_back({path, std::move(*r)});
    }
    PA_ASSIGN_OR_RETURN(MergeMode mode, ChooseMergeMode(reports));
    const bool color = !o->no_color && ::isatty(STDOUT_FILENO) == 1;
    if (mode == MergeMode::kShards) {
      PA_ASSIGN_OR_RETURN(RunReport merged, MergeShards(reports, o->out));
      PA_RETURN_IF_ERROR(MakeDirs(o->out));
      for (const auto& [file, text] : {std::pair{"report.json", FormatJsonReport(merged)},
                                       std::pair{"junit.xml", FormatJUnit(merged)},
                                       std::pair{"report.html", FormatHtml(merged)}}) {
        if (Status w = WriteFileAtomic(o->out + "/" + file, text); !w.ok()) {
          std::cerr << "polyarch merge: " << w.message() << "\n";
          return kExitEnvironment;
        }
      }
      std::cout << "merged " << reports.size() << " shards into " << o->out << "/report.json\n"
                << FormatConsoleSummary(merged, color) << std::flush;
      return merged.exit_code;
    }
    PA_ASSIGN_OR_RETURN(nlohmann::json fleet, BuildFleetReport(reports));
    PA_RETURN_IF_ERROR(MakeDirs(o->out));
    for (const auto& [file, text] :
         {std::pair{"fleet.json",
                    fleet.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"},
          std::pair{"fleet.html", FormatFleetHtml(fleet)}}) {
      if (Status w = WriteFileAtomic(o->out + "/" + file, text); !w.ok()) {
        std::cerr << "polyarch merge: " << w.message() << "\n";
        return kExitEnvironment;
      }
    }
    std::cout << FormatFleetConsole(fleet, color) << "written: " << o->out << "/fleet.json, "
              << o->out << "/fleet.html\n"
              << std::flush;
    return fleet["exit_code"].get<int>();
  }));
}

}  // namespace polyarch
