#include "binfmt/registry.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "harness/core/elf.h"

namespace polyarch {
namespace {

std::optional<Entry> RecordedEntry(const std::vector<JournalRecord>& live,
                                   const std::string& name) {
  for (const auto& r : live) {
    if (r.key != name) continue;
    auto line = r.data.find("line");
    if (line == r.data.end() || !line->is_string()) return std::nullopt;
    auto e = ParseRegistration(line->get<std::string>());
    if (e.ok()) return *e;
  }
  return std::nullopt;
}

JournalRecord RecordFor(const PlannedEntry& p) {
  JournalRecord r;
  r.kind = std::string(kJournalKindBinfmt);
  r.key = p.entry.name;
  r.data = {{"arch", std::string(p.arch->name)},
            {"line", p.entry.RegistrationLine()},
            {"interpreter", p.entry.interpreter},
            {"flags", p.entry.flags}};
  return r;
}

}  // namespace

std::string_view InstallActionName(InstallAction a) {
  switch (a) {
    case InstallAction::kRegistered:
      return "registered";
    case InstallAction::kAlreadyPresent:
      return "already_present";
    case InstallAction::kConflict:
      return "conflict";
    case InstallAction::kReplaced:
      return "replaced";
    case InstallAction::kFailed:
      return "failed";
  }
  return "unknown";
}

std::string_view UninstallActionName(UninstallAction a) {
  switch (a) {
    case UninstallAction::kRemoved:
      return "removed";
    case UninstallAction::kGone:
      return "gone";
    case UninstallAction::kChanged:
      return "changed_left_alone";
    case UninstallAction::kNotOwned:
      return "not_owned_left_alone";
    case UninstallAction::kFailed:
      return "failed";
  }
  return "unknown";
}

std::vector<std::string> FlagWarnings(std::string_view flags) {
  if (flags.find('C') == std::string_view::npos) return {};
  return {
      "flag C: setuid and setgid binaries of this arch run the emulator with the binary's "
      "credentials (as root for setuid-root files)"};
}

Status CheckEmulatorFile(const std::string& path, std::vector<std::string>* warnings) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return InvalidArgument("emulator " + path +
                           " does not exist (install qemu-user-static, or pass --emulator-dir)");
  }
  if (!S_ISREG(st.st_mode)) return InvalidArgument("emulator " + path + " is not a regular file");
  if (::access(path.c_str(), X_OK) != 0) {
    return InvalidArgument("emulator " + path + " is not executable");
  }
  auto elf = ReadElf(path);
  if (!elf.ok()) return InvalidArgument("emulator " + path + ": " + elf.status().message());
  const ArchInfo* host = HostArch();
  if (host != nullptr && elf->machine != host->elf_machine) {
    return InvalidArgument("emulator " + path + " is " + elf->Describe() +
                           ", not a program for this host");
  }
  if (!elf->is_static() && warnings != nullptr) {
    warnings->push_back("emulator " + path +
                        " is dynamically linked: it runs on the host but not inside a container "
                        "whose rootfs lacks its libraries");
  }
  return Status::Ok();
}

Result<std::vector<PlannedEntry>> PlanInstall(const InstallRequest& request,
                                              const EmulatorCheck& check) {
  if (request.arches.empty()) return InvalidArgument("no architecture selected");
  PA_ASSIGN_OR_RETURN(std::string flags, CanonicalFlags(request.flags));
  if (request.emulator_dir.empty() || request.emulator_dir[0] != '/') {
    return InvalidArgument("--emulator-dir must be an absolute path, got '" + request.emulator_dir +
                           "'");
  }
  std::vector<PlannedEntry> plan;
  for (const ArchInfo* arch : request.arches) {
    if (!arch->has_binfmt() || arch == HostArch()) {
      return InvalidArgument(std::string(arch->name) +
                             " is this host's own architecture and is never registered");
    }
    PlannedEntry p;
    p.arch = arch;
    p.entry = EntryForArch(*arch, request.prefix, request.emulator_dir, flags);
    PA_RETURN_IF_ERROR(ValidateEntry(p.entry));
    PA_RETURN_IF_ERROR(ValidatePolicy(p.entry));
    PA_RETURN_IF_ERROR(check(p.entry.interpreter, &p.warnings));
    for (auto& w : FlagWarnings(flags)) p.warnings.push_back(std::move(w));
    plan.push_back(std::move(p));
  }
  return plan;
}

Result<InstallReport> Install(ProcFs& procfs, Journal& journal,
                              const std::vector<PlannedEntry>& plan, bool replace) {
  InstallReport report;
  if (!procfs.Available()) {
    return FailedPrecondition(
        "the kernel has no binfmt_misc file system (CONFIG_BINFMT_MISC); load the module with "
        "'modprobe binfmt_misc' or use a kernel that has it");
  }
  if (!procfs.Mounted()) {
    PA_RETURN_IF_ERROR(
        procfs.Mount().WithContext("binfmt_misc is not mounted and mounting it failed"));
    report.mounted_binfmt_misc = true;
  }
  PA_ASSIGN_OR_RETURN(bool enabled, procfs.Enabled());
  if (!enabled) {
    return FailedPrecondition(
        "binfmt_misc is disabled host-wide (its status file says 'disabled'); polyarch never "
        "writes that file: enable it with 'echo 1 > /proc/sys/fs/binfmt_misc/status' if that "
        "is what this host's owner wants");
  }
  PA_ASSIGN_OR_RETURN(auto live, journal.Live(kJournalKindBinfmt));

  for (const PlannedEntry& p : plan) {
    InstallOutcome o;
    o.arch = p.arch;
    o.entry = p.entry;
    o.warnings = p.warnings;
    auto recorded = RecordedEntry(live, p.entry.name);

    auto text = procfs.ReadEntry(p.entry.name);
    if (text.ok()) {
      auto existing = ParseKernelEntry(p.entry.name, *text);
      if (existing.ok()) o.existing = *existing;
      if (existing.ok() && SameContent(p.entry, *existing)) {
        o.action = InstallAction::kAlreadyPresent;
        o.owned = recorded.has_value() && SameContent(*recorded, *existing);
        report.outcomes.push_back(std::move(o));
        continue;
      }
      if (!replace) {
        o.action = InstallAction::kConflict;
        o.owned = recorded.has_value() && existing.ok() && SameContent(*recorded, *existing);
        o.status = AlreadyExists("a different entry named '" + p.entry.name +
                                 "' is registered; left alone (use --replace to replace it)");
        report.outcomes.push_back(std::move(o));
        continue;
      }
      o.status = journal.Add(RecordFor(p));
      if (o.status.ok()) o.status = procfs.RemoveEntry(p.entry.name);
      if (o.status.ok()) o.status = procfs.Register(p.entry.RegistrationLine());
      o.action = o.status.ok() ? InstallAction::kReplaced : InstallAction::kFailed;
    } else if (text.status().code() == Code::kNotFound) {
      // Journal first: if polyarch dies right after the write, cleanup still knows the entry.
      o.status = journal.Add(RecordFor(p));
      if (o.status.ok()) o.status = procfs.Register(p.entry.RegistrationLine());
      o.action = o.status.ok() ? InstallAction::kRegistered : InstallAction::kFailed;
    } else {
      o.status = text.status();
      o.action = InstallAction::kFailed;
    }
    if (o.action == InstallAction::kFailed) {
      o.status = o.status.WithContext("registering " + p.entry.name);
      // Nothing was registered under this name by us: the record must not claim it.
      if (!procfs.ReadEntry(p.entry.name).ok())
        (void)journal.Remove(kJournalKindBinfmt, p.entry.name);
    } else {
      o.owned = true;
    }
    report.outcomes.push_back(std::move(o));
  }
  return report;
}

Result<std::vector<UninstallOutcome>> Uninstall(ProcFs& procfs, Journal& journal,
                                                const std::vector<const ArchInfo*>& arches,
                                                std::string_view prefix) {
  std::vector<UninstallOutcome> out;
  PA_ASSIGN_OR_RETURN(auto live, journal.Live(kJournalKindBinfmt));
  const bool mounted = procfs.Mounted();
  for (const ArchInfo* arch : arches) {
    std::vector<std::string> handled;
    for (const auto& r : live) {
      if (r.data.value("arch", std::string()) != arch->name) continue;
      UninstallOutcome o;
      o.arch = std::string(arch->name);
      o.name = r.key;
      handled.push_back(r.key);
      auto recorded = RecordedEntry(live, r.key);
      auto text = mounted ? procfs.ReadEntry(r.key) : Result<std::string>(NotFound("unmounted"));
      if (!text.ok()) {
        if (text.status().code() == Code::kNotFound) {
          o.action = UninstallAction::kGone;
          o.status = journal.Remove(kJournalKindBinfmt, r.key);
        } else {
          o.action = UninstallAction::kFailed;
          o.status = text.status();
        }
        out.push_back(std::move(o));
        continue;
      }
      auto k = ParseKernelEntry(r.key, *text);
      if (!recorded || !k.ok() || !SameContent(*recorded, *k)) {
        o.action = UninstallAction::kChanged;
        o.status = FailedPrecondition("entry '" + r.key +
                                      "' no longer holds what polyarch registered; left alone");
        // The name is no longer ours to remove; forget it so cleanup never touches it.
        (void)journal.Remove(kJournalKindBinfmt, r.key);
        out.push_back(std::move(o));
        continue;
      }
      o.status = procfs.RemoveEntry(r.key);
      if (o.status.ok()) {
        o.action = UninstallAction::kRemoved;
        o.status = journal.Remove(kJournalKindBinfmt, r.key);
      } else {
        o.action = UninstallAction::kFailed;
      }
      out.push_back(std::move(o));
    }
    std::string ours = std::string(prefix) + std::string(arch->name);
    if (mounted && std::find(handled.begin(), handled.end(), ours) == handled.end() &&
        procfs.ReadEntry(ours).ok()) {
      UninstallOutcome o;
      o.arch = std::string(arch->name);
      o.name = ours;
      o.action = UninstallAction::kNotOwned;
      o.status = FailedPrecondition("entry '" + ours +
                                    "' was not registered by polyarch (not in its journal); "
                                    "left alone");
      out.push_back(std::move(o));
    }
  }
  return out;
}

bool ArchBinfmtStatus::enabled() const {
  return std::any_of(entries.begin(), entries.end(),
                     [](const EntryStatus& e) { return e.enabled; });
}

Result<BinfmtStatusReport> CollectStatus(ProcFs& procfs, const Journal& journal,
                                         const std::vector<const ArchInfo*>& arches) {
  BinfmtStatusReport report;
  report.available = procfs.Available();
  report.mounted = report.available && procfs.Mounted();
  for (const ArchInfo* a : arches) report.arches.push_back({a, {}});
  if (!report.mounted) return report;
  PA_ASSIGN_OR_RETURN(report.enabled, procfs.Enabled());
  PA_ASSIGN_OR_RETURN(auto live, journal.Live(kJournalKindBinfmt));
  PA_ASSIGN_OR_RETURN(auto names, procfs.ListEntries());
  for (const auto& name : names) {
    auto text = procfs.ReadEntry(name);
    if (!text.ok()) continue;  // removed between list and read
    auto k = ParseKernelEntry(name, *text);
    if (!k.ok()) {
      report.unparsable.push_back(name);
      continue;
    }
    auto recorded = RecordedEntry(live, name);
    for (auto& as : report.arches) {
      if (!HandlesArch(*k, *as.arch)) continue;
      as.entries.push_back({name, k->enabled, k->flags, k->interpreter,
                            recorded.has_value() && SameContent(*recorded, *k)});
    }
  }
  return report;
}

std::string BinfmtDConf(const Entry& e) {
  return "# " + e.name +
         ": written by 'polyarch binfmt export'. systemd-binfmt (or\n"
         "# update-binfmts --import) registers it at boot; flags: " +
         (e.flags.empty() ? std::string("none") : e.flags) + "\n" + e.RegistrationLine() + "\n";
}

}  // namespace polyarch
