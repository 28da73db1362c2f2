// polyarch binfmt install | status | uninstall | export
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "binfmt/arch.h"
#include "binfmt/procfs.h"
#include "binfmt/proof.h"
#include "binfmt/registry.h"
#include "harness/cli/cli.h"
#include "harness/core/fs.h"
#include "harness/core/journal.h"
#include "harness/core/log.h"

namespace polyarch {
namespace {

using nlohmann::json;

constexpr int kSchemaVersion = 1;

std::string Dump(const json& j) { return j.dump(2, ' ', false, json::error_handler_t::replace); }

std::string WorkDir() {
  const char* t = std::getenv("TMPDIR");
  return t && *t ? t : "/tmp";
}

struct ArchProof {
  ProofResult host;
  ProofResult empty_root;
  bool needs_empty_root = false;  // only the F flag promises it
  bool proven() const { return host.ok && (!needs_empty_root || empty_root.ok); }
};

ArchProof Prove(const ArchInfo& arch, const std::string& flags) {
  ArchProof p;
  p.host = ProveOnHost(arch, WorkDir());
  p.needs_empty_root = flags.find('F') != std::string::npos;
  p.empty_root = ProveInEmptyRoot(arch, WorkDir());
  return p;
}

json ProofJson(const ArchProof& p) {
  return {{"proven", p.proven()},
          {"host", {{"ok", p.host.ok}, {"detail", p.host.detail}}},
          {"empty_root",
           {{"ok", p.empty_root.ok},
            {"required", p.needs_empty_root},
            {"detail", p.empty_root.detail}}}};
}

// The native program must run natively: an entry matching host binaries would hijack them.
json NativeJson(ProofResult* out) {
  const ArchInfo* host = HostArch();
  if (host == nullptr) return nullptr;
  ProofResult r = ProveOnHost(*host, WorkDir());
  if (out) *out = r;
  return {{"arch", host->name}, {"runs_natively", r.ok}, {"detail", r.detail}};
}

std::string OkWord(bool ok) { return ok ? "ok" : "FAILED"; }

struct Common {
  std::string arch = "all";
  std::string prefix = std::string(kDefaultPrefix);
  std::string emulator_dir = std::string(kDefaultEmulatorDir);
  std::string flags = "F";
  bool json = false;
};

void AddCommonArch(CLI::App* cmd, Common& c) {
  cmd->add_option("--arch", c.arch,
                  "all, or a comma-separated list; aliases work (arm64, armhf, ppc64el, "
                  "linux/s390x)")
      ->capture_default_str();
}

void AddInstall(CLI::App* parent, const GlobalOptions& global, int& exit_code) {
  struct Opts : Common {
    bool replace = false;
    bool no_prove = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent->add_subcommand(
      "install",
      "Register QEMU user-mode emulators with binfmt_misc (mounting it if needed).\n"
      "Every entry is validated against the kernel's rules before anything is written; an\n"
      "identical entry is left as is, a different one under the same name is a conflict\n"
      "unless --replace. Each entry is recorded in polyarch's journal before it is written,\n"
      "and proven afterwards by running a tiny static program of that arch on the host and\n"
      "in an empty chroot (what the F flag promises).\n"
      "Exit: 0 all registered and proven, 1 conflict/failure/unproven, 2 bad input,\n"
      "3 host not usable.");
  AddCommonArch(cmd, *o);
  cmd->add_option("--flags", o->flags,
                  "binfmt flags: F (default: the emulator is opened now, so it works inside\n"
                  "containers), P (preserve argv[0]), C (credentials of setuid binaries; warns)")
      ->capture_default_str();
  cmd->add_option("--emulator-dir", o->emulator_dir, "Directory holding qemu-<arch>-static")
      ->capture_default_str();
  cmd->add_option("--prefix", o->prefix, "Entry name prefix: <prefix><arch>")
      ->capture_default_str();
  cmd->add_flag("--replace", o->replace,
                "Replace a different entry registered under the same name");
  cmd->add_flag("--no-prove", o->no_prove, "Skip running the proof programs");
  cmd->add_flag("--json", o->json, "Print the outcome as JSON");
  cmd->callback(Command(exit_code, [o, &global]() -> Result<int> {
    auto arches = ParseArchList(o->arch, ArchScope::kEmulated);
    if (!arches.ok()) return arches.status();
    InstallRequest req;
    req.arches = *arches;
    req.flags = o->flags;
    req.emulator_dir = o->emulator_dir;
    req.prefix = o->prefix;
    req.replace = o->replace;
    auto plan = PlanInstall(req);
    if (!plan.ok()) return plan.status();
    PA_RETURN_IF_ERROR(RequireRoot("binfmt install"));
    auto journal = Journal::Open(global.JournalPath());
    if (!journal.ok()) return journal.status();
    RealProcFs procfs;
    auto report = Install(procfs, *journal, *plan, o->replace);
    if (!report.ok()) return report.status();
    bool all_good = true;
    json entries = json::array();
    std::ostringstream text;
    if (report->mounted_binfmt_misc) text << "mounted binfmt_misc on " << kBinfmtDir << "\n";
    for (const auto& out : report->outcomes) {
      bool settled = out.action == InstallAction::kRegistered ||
                     out.action == InstallAction::kAlreadyPresent ||
                     out.action == InstallAction::kReplaced;
      all_good &= settled;
      json j = {{"arch", out.arch->name},
                {"entry", out.entry.name},
                {"action", InstallActionName(out.action)},
                {"owned", out.owned},
                {"flags", out.entry.flags},
                {"interpreter", out.entry.interpreter},
                {"warnings", out.warnings}};
      if (!out.status.ok()) j["error"] = out.status.message();
      text << std::left << std::setw(10) << out.arch->name << std::setw(18)
           << InstallActionName(out.action) << out.entry.name << " -> " << out.entry.interpreter
           << " [" << out.entry.flags << "]";
      if (out.action == InstallAction::kAlreadyPresent && !out.owned) {
        text << " (not recorded as polyarch's: uninstall will leave it)";
      }
      text << "\n";
      if (!out.status.ok()) text << "          " << out.status.message() << "\n";
      for (const auto& w : out.warnings) text << "          warning: " << w << "\n";
      if (settled && !o->no_prove) {
        ArchProof p = Prove(*out.arch, out.entry.flags);
        all_good &= p.proven();
        j["proof"] = ProofJson(p);
        text << "          proof: host " << OkWord(p.host.ok) << " (" << p.host.detail
             << "); empty root " << OkWord(p.empty_root.ok)
             << (p.needs_empty_root ? "" : " (not required without F)") << " ("
             << p.empty_root.detail << ")\n";
      }
      entries.push_back(std::move(j));
    }
    json doc = {{"schema_version", kSchemaVersion},
                {"kind", "polyarch.binfmt.install"},
                {"mounted_binfmt_misc", report->mounted_binfmt_misc},
                {"entries", entries}};
    if (!o->no_prove) {
      ProofResult native;
      doc["native"] = NativeJson(&native);
      all_good &= native.ok;
      text << "native " << (HostArch() ? HostArch()->name : "?") << ": "
           << (native.ok ? "runs natively" : "DOES NOT run natively") << " (" << native.detail
           << ")\n";
    }
    doc["ok"] = all_good;
    std::cout << (o->json ? Dump(doc) + "\n" : text.str());
    return all_good ? kExitOk : kExitCheckFailed;
  }));
}

void AddStatus(CLI::App* parent, const GlobalOptions& global, int& exit_code) {
  struct Opts : Common {
    bool no_prove = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent->add_subcommand(
      "status",
      "Show, per architecture, every binfmt_misc entry that handles it: enabled, flags,\n"
      "interpreter, owner (polyarch if its journal recorded that exact entry, else other),\n"
      "and whether execution is proven (a tiny static program of the arch runs on the host\n"
      "and, with F, in an empty chroot). Changes nothing.\n"
      "Exit: 0 every selected arch is registered, enabled and proven; 1 otherwise.");
  AddCommonArch(cmd, *o);
  cmd->add_flag("--json", o->json, "Print the status as one JSON document");
  cmd->add_flag("--no-prove", o->no_prove, "Do not run the proof programs");
  cmd->callback(Command(exit_code, [o, &global]() -> Result<int> {
    auto arches = ParseArchList(o->arch, ArchScope::kEmulated);
    if (!arches.ok()) return arches.status();
    auto journal = Journal::Open(global.JournalPath());
    if (!journal.ok()) return journal.status();
    RealProcFs procfs;
    auto st = CollectStatus(procfs, *journal, *arches);
    if (!st.ok()) return st.status();
    bool all_good = st->mounted && st->enabled;
    json rows = json::array();
    std::ostringstream text;
    text << "binfmt_misc: " << (st->available ? "available" : "NOT AVAILABLE") << ", "
         << (st->mounted ? "mounted" : "not mounted") << ", "
         << (st->enabled ? "enabled" : "disabled") << "\n\n";
    text << std::left << std::setw(10) << "ARCH" << std::setw(20) << "ENTRY" << std::setw(10)
         << "OWNER" << std::setw(7) << "FLAGS" << std::setw(34) << "INTERPRETER" << std::setw(7)
         << "HOST"
         << "EMPTY-ROOT\n";
    for (const auto& a : st->arches) {
      // The entry that speaks for the arch: polyarch's own if there is one.
      const EntryStatus* primary = nullptr;
      for (const auto& e : a.entries) {
        if (primary == nullptr || (e.owned && !primary->owned)) primary = &e;
      }
      json entries = json::array();
      for (const auto& e : a.entries) {
        entries.push_back({{"name", e.name},
                           {"enabled", e.enabled},
                           {"flags", e.flags},
                           {"interpreter", e.interpreter},
                           {"owner", e.owned ? "polyarch" : "other"}});
      }
      json row = {{"arch", a.arch->name},
                  {"platform", a.arch->Platform()},
                  {"registered", a.registered()},
                  {"enabled", a.enabled()},
                  {"flags", primary ? primary->flags : ""},
                  {"interpreter", primary ? primary->interpreter : ""},
                  {"entry", primary ? primary->name : ""},
                  {"owner", primary ? (primary->owned ? "polyarch" : "other") : ""},
                  {"entries", entries}};
      bool good = a.registered() && a.enabled();
      std::string host_col = "-", root_col = "-";
      if (good && !o->no_prove) {
        ArchProof p = Prove(*a.arch, primary->flags);
        row["execution_proven"] = p.proven();
        row["proof"] = ProofJson(p);
        good &= p.proven();
        host_col = OkWord(p.host.ok);
        root_col =
            p.needs_empty_root ? OkWord(p.empty_root.ok) : (p.empty_root.ok ? "ok" : "n/a (no F)");
      } else {
        row["execution_proven"] = false;
      }
      all_good &= good;
      rows.push_back(std::move(row));
      text << std::left << std::setw(10) << a.arch->name << std::setw(20)
           << (primary ? primary->name : "(none)") << std::setw(10)
           << (primary ? (primary->owned ? "polyarch" : "other") : "-") << std::setw(7)
           << (primary ? (primary->flags.empty() ? "-" : primary->flags) : "-") << std::setw(34)
           << (primary ? primary->interpreter : "-") << std::setw(7) << host_col << root_col
           << "\n";
      for (const auto& e : a.entries) {
        if (&e != primary) {
          text << "          also handled by " << e.name << " (" << (e.owned ? "polyarch" : "other")
               << ", flags " << (e.flags.empty() ? "-" : e.flags) << ", " << e.interpreter << ")\n";
        }
      }
    }
    json doc = {
        {"schema_version", kSchemaVersion},
        {"kind", "polyarch.binfmt.status"},
        {"binfmt_misc",
         {{"available", st->available}, {"mounted", st->mounted}, {"enabled", st->enabled}}},
        {"arches", rows},
        {"unparsable_entries", st->unparsable}};
    if (!o->no_prove) {
      ProofResult native;
      doc["native"] = NativeJson(&native);
      all_good &= native.ok;
      text << "\nnative " << (HostArch() ? HostArch()->name : "?") << ": "
           << (native.ok ? "runs natively" : "DOES NOT run natively") << " (" << native.detail
           << ")\n";
    }
    doc["ok"] = all_good;
    std::cout << (o->json ? Dump(doc) + "\n" : text.str());
    return all_good ? kExitOk : kExitCheckFailed;
  }));
}

void AddUninstall(CLI::App* parent, const GlobalOptions& global, int& exit_code) {
  auto o = std::make_shared<Common>();
  CLI::App* cmd = parent->add_subcommand(
      "uninstall",
      "Remove the binfmt_misc entries polyarch registered: only entries its journal recorded\n"
      "and whose content is still what it wrote. Anyone else's entry, or one changed since,\n"
      "is reported and left alone. The global status file is never written.\n"
      "Exit: 0 done, 1 the kernel refused a removal, 2 bad input, 3 host not usable.");
  AddCommonArch(cmd, *o);
  cmd->add_option("--prefix", o->prefix, "Entry name prefix to report foreign entries under")
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "Print the outcome as JSON");
  cmd->callback(Command(exit_code, [o, &global]() -> Result<int> {
    auto arches = ParseArchList(o->arch, ArchScope::kEmulated);
    if (!arches.ok()) return arches.status();
    PA_RETURN_IF_ERROR(RequireRoot("binfmt uninstall"));
    auto journal = Journal::Open(global.JournalPath());
    if (!journal.ok()) return journal.status();
    RealProcFs procfs;
    auto outcomes = Uninstall(procfs, *journal, *arches, o->prefix);
    if (!outcomes.ok()) return outcomes.status();
    bool failed = false;
    json rows = json::array();
    std::ostringstream text;
    for (const auto& out : *outcomes) {
      failed |= out.action == UninstallAction::kFailed;
      json j = {
          {"arch", out.arch}, {"entry", out.name}, {"action", UninstallActionName(out.action)}};
      if (!out.status.ok()) j["detail"] = out.status.message();
      rows.push_back(std::move(j));
      text << std::left << std::setw(10) << out.arch << std::setw(24)
           << UninstallActionName(out.action) << out.name << "\n";
      if (!out.status.ok()) text << "          " << out.status.message() << "\n";
    }
    if (outcomes->empty()) text << "nothing of polyarch's is registered for the selected arches\n";
    json doc = {{"schema_version", kSchemaVersion},
                {"kind", "polyarch.binfmt.uninstall"},
                {"entries", rows},
                {"ok", !failed}};
    std::cout << (o->json ? Dump(doc) + "\n" : text.str());
    return failed ? kExitCheckFailed : kExitOk;
  }));
}

void AddExport(CLI::App* parent, int& exit_code) {
  struct Opts : Common {
    std::string dir;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent->add_subcommand(
      "export",
      "Write binfmt.d-style files (<prefix><arch>.conf, one registration line each) so a\n"
      "host can register the same entries at boot (systemd-binfmt reads /etc/binfmt.d).\n"
      "The entries are validated as install validates them; nothing is registered.");
  cmd->add_option("--dir", o->dir, "Directory to write the .conf files into")->required();
  AddCommonArch(cmd, *o);
  cmd->add_option("--flags", o->flags, "binfmt flags (F, P, C)")->capture_default_str();
  cmd->add_option("--emulator-dir", o->emulator_dir, "Directory holding qemu-<arch>-static")
      ->capture_default_str();
  cmd->add_option("--prefix", o->prefix, "Entry name prefix")->capture_default_str();
  cmd->add_flag("--json", o->json, "Print the files written as JSON");
  cmd->callback(Command(exit_code, [o]() -> Result<int> {
    auto arches = ParseArchList(o->arch, ArchScope::kEmulated);
    if (!arches.ok()) return arches.status();
    InstallRequest req;
    req.arches = *arches;
    req.flags = o->flags;
    req.emulator_dir = o->emulator_dir;
    req.prefix = o->prefix;
    // The target host may differ from this one: a missing emulator here is a warning.
    auto plan = PlanInstall(req, [](const std::string& path, std::vector<std::string>* warnings) {
      Status s = CheckEmulatorFile(path, warnings);
      if (!s.ok()) warnings->push_back(s.message() + " (on this host)");
      return Status::Ok();
    });
    if (!plan.ok()) return plan.status();
    PA_RETURN_IF_ERROR(MakeDirs(o->dir));
    json files = json::array();
    for (const auto& p : *plan) {
      std::string path = o->dir + "/" + p.entry.name + ".conf";
      PA_RETURN_IF_ERROR(WriteFileAtomic(path, BinfmtDConf(p.entry)));
      files.push_back({{"arch", p.arch->name}, {"path", path}, {"warnings", p.warnings}});
      if (!o->json) {
        std::cout << "wrote " << path << "\n";
        for (const auto& w : p.warnings) std::cout << "  warning: " << w << "\n";
      }
    }
    if (o->json) {
      std::cout << Dump({{"schema_version", kSchemaVersion},
                         {"kind", "polyarch.binfmt.export"},
                         {"files", files}})
                << "\n";
    }
    return kExitOk;
  }));
}

}  // namespace

void AddBinfmtCommand(CLI::App& app, const GlobalOptions& global, int& exit_code) {
  CLI::App* cmd =
      app.add_subcommand("binfmt", "Register, inspect, remove or export QEMU binfmt_misc entries");
  cmd->require_subcommand(1);
  AddInstall(cmd, global, exit_code);
  AddStatus(cmd, global, exit_code);
  AddUninstall(cmd, global, exit_code);
  AddExport(cmd, exit_code);
}

}  // namespace polyarch
