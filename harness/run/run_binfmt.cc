#include "harness/run/run_binfmt.h"

#include <algorithm>

#include "binfmt/procfs.h"
#include "binfmt/proof.h"
#include "binfmt/registry.h"

namespace polyarch {

using nlohmann::json;

json RunBinfmt::Register(const std::vector<const ArchInfo*>& arches, const std::string& scratch) {
  std::vector<const ArchInfo*> foreign;
  for (const ArchInfo* a : arches) {
    if (a != HostArch() && a->has_binfmt()) foreign.push_back(a);
  }
  json entries = json::array();
  if (foreign.empty()) return entries;
  RealProcFs procfs;
  InstallRequest req;
  req.arches = foreign;
  auto plan = PlanInstall(req);
  if (!plan.ok()) {
    for (const ArchInfo* a : foreign) unavailable_[a] = plan.status().message();
    return {{"error", plan.status().message()}};
  }
  auto report = Install(procfs, *journal_, *plan, /*replace=*/false);
  if (!report.ok()) {
    for (const ArchInfo* a : foreign) unavailable_[a] = report.status().message();
    return {{"error", report.status().message()}};
  }
  for (const auto& o : report->outcomes) {
    json e = {{"arch", o.arch->name},
              {"entry", o.entry.name},
              {"action", InstallActionName(o.action)},
              {"flags", o.entry.flags},
              {"interpreter", o.entry.interpreter},
              {"owner", o.owned ? "polyarch" : "other"}};
    if (o.action == InstallAction::kRegistered) registered_.push_back(o.entry);
    flags_[o.arch] = o.entry.flags;
    if (o.action == InstallAction::kConflict && o.existing) flags_[o.arch] = o.existing->flags;
    // C is never polyarch's default, but an entry already in place (installed on request with
    // `binfmt install --flags FC`, or another owner's) may carry it: say so in the report.
    std::vector<std::string> warnings = FlagWarnings(flags_[o.arch]);
    for (const auto& w : o.warnings) {
      if (std::find(warnings.begin(), warnings.end(), w) == warnings.end()) warnings.push_back(w);
    }
    if (!warnings.empty()) e["warnings"] = warnings;
    // Whatever entry handles the arch, it must really run its programs.
    ProofResult proof = ProveOnHost(*o.arch, scratch);
    e["proven"] = proof.ok;
    if (!proof.ok) {
      unavailable_[o.arch] = "no working binfmt_misc handler for " + std::string(o.arch->name) +
                             " (" + std::string(InstallActionName(o.action)) + "): " + proof.detail;
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

std::string RunBinfmt::Unavailable(const ArchInfo& arch) const {
  auto it = unavailable_.find(&arch);
  return it == unavailable_.end() ? "" : it->second;
}

std::string RunBinfmt::FlagsFor(const ArchInfo& arch) const {
  auto it = flags_.find(&arch);
  return it == flags_.end() ? "" : it->second;
}

Status RunBinfmt::WithPreserveArgv0(const ArchInfo& arch, const std::function<void()>& fn) {
  std::lock_guard<std::mutex> lock(preserve_mu_);
  RealProcFs procfs;
  Entry e = EntryForArch(arch, "polyarch-p-", kDefaultEmulatorDir, "PF");
  PA_RETURN_IF_ERROR(ValidateEntry(e));
  if (procfs.ReadEntry(e.name).ok()) {
    return AlreadyExists("an entry named " + e.name + " is already registered");
  }
  PA_RETURN_IF_ERROR(
      journal_->Add({std::string(kJournalKindBinfmt),
                     e.name,
                     {{"arch", std::string(arch.name)}, {"line", e.RegistrationLine()}}}));
  Status reg = procfs.Register(e.RegistrationLine());
  if (!reg.ok()) {
    (void)journal_->Remove(kJournalKindBinfmt, e.name);
    return reg;
  }
  fn();
  Status rm = procfs.RemoveEntry(e.name);
  if (rm.ok()) (void)journal_->Remove(kJournalKindBinfmt, e.name);
  return rm;
}

json RunBinfmt::RemoveRegistered(std::vector<std::string>* problems) {
  json removed = json::array();
  RealProcFs procfs;
  for (const Entry& e : registered_) {
    auto text = procfs.ReadEntry(e.name);
    if (!text.ok()) continue;
    auto k = ParseKernelEntry(e.name, *text);
    if (!k.ok() || !SameContent(e, *k)) continue;
    Status s = procfs.RemoveEntry(e.name);
    if (s.ok()) (void)journal_->Remove(kJournalKindBinfmt, e.name);
    removed.push_back({{"entry", e.name}, {"ok", s.ok()}});
    if (!s.ok()) problems->push_back("binfmt entry " + e.name + " not removed: " + s.message());
  }
  registered_.clear();
  return removed;
}

}  // namespace polyarch
