// polyarch cleanup: remove what killed runs left behind, from the journal alone.
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "harness/cli/cli.h"
#include "harness/core/journal.h"
#include "harness/run/recovery.h"

namespace polyarch {

void AddCleanupCommand(CLI::App& app, const GlobalOptions& global, int& exit_code) {
  struct Opts {
    std::string run;
    bool all_stale = false;
    bool dry_run = false;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand(
      "cleanup",
      "Remove what runs killed before they could clean up left on this host: their daemons,\n"
      "containers, mounts, cgroups, binfmt entries and run directories. Only what the journal\n"
      "(<state-dir>/journal.jsonl) names is touched, and a run whose polyarch still runs is\n"
      "left alone. polyarch run does this by itself before it starts.\n"
      "Without options it cleans every stale run (as --all-stale).\n"
      "Exit: 0 nothing left, 1 something could not be removed, 2 usage, 3 not root.");
  cmd->add_option("--run", o->run, "Only this run (its id, as in the report's context)");
  cmd->add_flag("--all-stale", o->all_stale, "Every run whose process is gone (the default)");
  cmd->add_flag("--dry-run", o->dry_run,
                "List the runs and what the journal holds; change nothing");
  cmd->add_flag("--json", o->json, "Print the outcome as JSON");
  cmd->callback(Command(exit_code, [o, &global]() -> Result<int> {
    if (!o->run.empty() && o->all_stale) {
      return InvalidArgument("--run and --all-stale exclude each other");
    }
    if (!o->dry_run) {
      PA_RETURN_IF_ERROR(RequireRoot("cleanup"));
    }
    auto journal = Journal::Open(global.JournalPath());
    if (!journal.ok()) return journal.status();
    auto runs = ListRuns(*journal);
    if (!runs.ok()) return runs.status();
    nlohmann::json out = nlohmann::json::array();
    bool found = o->run.empty();
    bool problems = false;
    for (const auto& run : *runs) {
      if (!o->run.empty() && run.id != o->run) continue;
      found = true;
      nlohmann::json j = {{"run", run.id},
                          {"pid", run.pid},
                          {"alive", run.alive},
                          {"run_dir", run.run_dir},
                          {"records", run.records.size()}};
      if (o->dry_run) {
        if (!o->json) {
          std::cout << run.id
                    << (run.alive ? "  running (pid " + std::to_string(run.pid) + ")" : "  stale")
                    << ", " << run.records.size() << " journal record(s), " << run.run_dir << "\n";
        }
      } else if (run.alive && o->run.empty()) {
        j["skipped"] = "still running";
      } else {
        RecoveryReport rep = RecoverRun(*journal, run);
        j["actions"] = rep.actions;
        j["problems"] = rep.problems;
        problems |= !rep.ok();
        if (!o->json) {
          std::cout << "run " << run.id << ": " << (rep.ok() ? "cleaned" : "NOT fully cleaned")
                    << "\n";
          for (const auto& a : rep.actions) std::cout << "  " << a << "\n";
          for (const auto& p : rep.problems) std::cout << "  problem: " << p << "\n";
        }
      }
      out.push_back(std::move(j));
    }
    if (!found) {
      return NotFound("the journal knows no run '" + o->run + "'");
    }
    if (o->json) {
      std::cout << nlohmann::json({{"schema_version", 1},
                                   {"kind", "polyarch.cleanup"},
                                   {"dry_run", o->dry_run},
                                   {"runs", out}})
                       .dump(2)
                << "\n";
    } else if (out.empty()) {
      std::cout << "nothing to clean: the journal names no stale run\n";
    }
    return problems ? kExitCheckFailed : kExitOk;
  }));
}

}  // namespace polyarch
