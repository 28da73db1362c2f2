#include "binfmt/registry.h"

#include <gtest/gtest.h>

#include "fake_procfs.h"
#include "harness/core/fs.h"

namespace polyarch {
namespace {

Status AnyEmulator(const std::string&, std::vector<std::string>*) { return Status::Ok(); }

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("polyarch-registry-test-");
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(*d));
    auto j = Journal::Open(dir_->path() + "/journal.jsonl");
    ASSERT_TRUE(j.ok());
    journal_ = std::make_unique<Journal>(std::move(*j));
  }

  std::vector<PlannedEntry> Plan(const std::string& arches, const std::string& flags = "F") {
    InstallRequest req;
    req.arches = *ParseArchList(arches, ArchScope::kEmulated);
    req.flags = flags;
    auto plan = PlanInstall(req, AnyEmulator);
    EXPECT_TRUE(plan.ok()) << plan.status().ToString();
    return plan.ok() ? *plan : std::vector<PlannedEntry>{};
  }

  void ExpectStatusNeverWritten() {
    for (const auto& w : procfs_.writes) {
      EXPECT_EQ(w.find("remove status"), std::string::npos) << w;
      EXPECT_EQ(w.find("remove register"), std::string::npos) << w;
    }
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Journal> journal_;
  FakeProcFs procfs_;
};

TEST_F(RegistryTest, InstallRegistersRecordsAndIsIdempotent) {
  auto plan = Plan("all");
  ASSERT_EQ(plan.size(), 9u);
  auto first = Install(procfs_, *journal_, plan, false);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  for (const auto& o : first->outcomes) {
    EXPECT_EQ(o.action, InstallAction::kRegistered) << o.entry.name;
    EXPECT_TRUE(o.owned);
  }
  EXPECT_EQ(procfs_.size(), 9u);
  EXPECT_EQ(journal_->Live(kJournalKindBinfmt)->size(), 9u);

  size_t writes = procfs_.writes.size();
  auto second = Install(procfs_, *journal_, plan, false);
  ASSERT_TRUE(second.ok());
  for (const auto& o : second->outcomes) {
    EXPECT_EQ(o.action, InstallAction::kAlreadyPresent);
    EXPECT_TRUE(o.owned);
  }
  EXPECT_EQ(procfs_.writes.size(), writes) << "a second install must write nothing";
  ExpectStatusNeverWritten();
}

TEST_F(RegistryTest, DifferentEntryUnderOurNameIsAConflictUnlessReplace) {
  procfs_.Preload(":polyarch-s390x:M::\\x7f\\x45\\x4c\\x46:\\xff\\xff\\xff\\xff:/opt/other:F");
  std::string before = *procfs_.ReadEntry("polyarch-s390x");
  auto plan = Plan("s390x");
  auto r = Install(procfs_, *journal_, plan, /*replace=*/false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcomes[0].action, InstallAction::kConflict);
  EXPECT_FALSE(r->outcomes[0].owned);
  EXPECT_NE(r->outcomes[0].status.message().find("--replace"), std::string::npos);
  EXPECT_EQ(*procfs_.ReadEntry("polyarch-s390x"), before);
  EXPECT_TRUE(procfs_.writes.empty());
  EXPECT_TRUE(journal_->Live()->empty());

  auto replaced = Install(procfs_, *journal_, plan, /*replace=*/true);
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(replaced->outcomes[0].action, InstallAction::kReplaced);
  EXPECT_NE(*procfs_.ReadEntry("polyarch-s390x"), before);
  EXPECT_EQ(journal_->Live()->size(), 1u);
}

TEST_F(RegistryTest, IdenticalEntryNotRecordedIsPresentButNotOwned) {
  auto plan = Plan("s390x");
  procfs_.Preload(plan[0].entry.RegistrationLine());
  auto r = Install(procfs_, *journal_, plan, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcomes[0].action, InstallAction::kAlreadyPresent);
  EXPECT_FALSE(r->outcomes[0].owned);
  // And uninstall leaves it: polyarch never claimed it.
  auto u = Uninstall(procfs_, *journal_, {plan[0].arch}, kDefaultPrefix);
  ASSERT_TRUE(u.ok());
  ASSERT_EQ(u->size(), 1u);
  EXPECT_EQ((*u)[0].action, UninstallAction::kNotOwned);
  EXPECT_TRUE(procfs_.ReadEntry("polyarch-s390x").ok());
}

TEST_F(RegistryTest, KernelRefusalIsReportedAndNotLeftInTheJournal) {
  procfs_.fail_register.insert("polyarch-arm");
  auto r = Install(procfs_, *journal_, Plan("arm,s390x"), false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcomes[0].action, InstallAction::kFailed);
  EXPECT_NE(r->outcomes[0].status.message().find("registering polyarch-arm"), std::string::npos);
  EXPECT_EQ(r->outcomes[1].action, InstallAction::kRegistered);
  auto live = journal_->Live();
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].key, "polyarch-s390x");
}

TEST_F(RegistryTest, UnmountedIsMountedDisabledIsRefusedWithoutWriting) {
  procfs_.mounted = false;
  auto r = Install(procfs_, *journal_, Plan("s390x"), false);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->mounted_binfmt_misc);
  EXPECT_EQ(procfs_.mount_calls, 1);

  FakeProcFs disabled;
  disabled.enabled = false;
  auto d = Install(disabled, *journal_, Plan("arm"), false);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(d.status().message().find("never writes"), std::string::npos);
  EXPECT_TRUE(disabled.writes.empty());

  FakeProcFs absent;
  absent.available = false;
  EXPECT_EQ(Install(absent, *journal_, Plan("arm"), false).status().code(),
            Code::kFailedPrecondition);
}

TEST_F(RegistryTest, PlanningRejectsBadInputBeforeAnyWrite) {
  InstallRequest req;
  req.arches = *ParseArchList("s390x", ArchScope::kEmulated);
  req.flags = "FX";
  EXPECT_EQ(PlanInstall(req, AnyEmulator).status().code(), Code::kInvalidArgument);
  req.flags = "OF";
  EXPECT_NE(PlanInstall(req, AnyEmulator).status().message().find("flag O alone"),
            std::string::npos);
  req.flags = "F";
  req.prefix = "bad/prefix-";
  EXPECT_FALSE(PlanInstall(req, AnyEmulator).ok());
  req.prefix = "polyarch-";
  req.emulator_dir = "relative/dir";
  EXPECT_FALSE(PlanInstall(req, AnyEmulator).ok());
  req.emulator_dir = "/nonexistent-polyarch";
  auto missing = PlanInstall(req);  // the real file check
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("does not exist"), std::string::npos);
  req.emulator_dir = "/usr/bin";
  req.flags = "FPC";
  auto c = PlanInstall(req, AnyEmulator);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)[0].entry.flags, "POCF");
  ASSERT_FALSE((*c)[0].warnings.empty());
  EXPECT_NE((*c)[0].warnings[0].find("credentials"), std::string::npos);
  // The same warning for an entry found in place with C, whoever registered it.
  EXPECT_EQ(FlagWarnings("POCF"), (*c)[0].warnings);
  EXPECT_TRUE(FlagWarnings("F").empty());
  EXPECT_TRUE(FlagWarnings("").empty());
}

TEST_F(RegistryTest, UninstallRemovesOnlyRecordedMatchingEntries) {
  const std::string foreign =
      ":someone-else:M::\\x7f\\x45\\x4c\\x46\\x02\\x02:\\xff\\xff\\xff\\xff\\xff\\xff:/opt/q:F";
  const std::string distro = ":qemu-s390x:M::" + EscapeBytes((*LookupArch("s390x"))->magic) + ":" +
                             EscapeBytes((*LookupArch("s390x"))->mask) +
                             ":/usr/libexec/qemu-binfmt/s390x-binfmt-P:OPF";
  procfs_.Preload(foreign);
  procfs_.Preload(distro);
  std::string foreign_before = *procfs_.ReadEntry("someone-else");
  std::string distro_before = *procfs_.ReadEntry("qemu-s390x");

  ASSERT_TRUE(Install(procfs_, *journal_, Plan("all"), false).ok());
  auto u =
      Uninstall(procfs_, *journal_, *ParseArchList("all", ArchScope::kEmulated), kDefaultPrefix);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->size(), 9u);
  for (const auto& o : *u) EXPECT_EQ(o.action, UninstallAction::kRemoved) << o.name;
  EXPECT_EQ(procfs_.size(), 2u);
  EXPECT_EQ(*procfs_.ReadEntry("someone-else"), foreign_before);
  EXPECT_EQ(*procfs_.ReadEntry("qemu-s390x"), distro_before);
  EXPECT_TRUE(journal_->Live()->empty());
  ExpectStatusNeverWritten();
}

TEST_F(RegistryTest, UninstallLeavesAnEntryChangedSinceAndForgetsOneGone) {
  ASSERT_TRUE(Install(procfs_, *journal_, Plan("arm,s390x"), false).ok());
  // Someone replaced polyarch-arm with their own content; polyarch-s390x vanished.
  ASSERT_TRUE(procfs_.RemoveEntry("polyarch-arm").ok());
  procfs_.Preload(":polyarch-arm:M::\\x7f\\x45:\\xff\\xff:/opt/theirs:F");
  ASSERT_TRUE(procfs_.RemoveEntry("polyarch-s390x").ok());
  auto u = Uninstall(procfs_, *journal_, *ParseArchList("arm,s390x", ArchScope::kEmulated),
                     kDefaultPrefix);
  ASSERT_TRUE(u.ok());
  ASSERT_EQ(u->size(), 2u);
  EXPECT_EQ((*u)[0].action, UninstallAction::kChanged);
  EXPECT_EQ((*u)[1].action, UninstallAction::kGone);
  EXPECT_TRUE(procfs_.ReadEntry("polyarch-arm").ok());
  EXPECT_TRUE(journal_->Live()->empty());
}

TEST_F(RegistryTest, UninstallReportsAKernelRefusal) {
  ASSERT_TRUE(Install(procfs_, *journal_, Plan("s390x"), false).ok());
  procfs_.fail_remove.insert("polyarch-s390x");
  auto u =
      Uninstall(procfs_, *journal_, *ParseArchList("s390x", ArchScope::kEmulated), kDefaultPrefix);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ((*u)[0].action, UninstallAction::kFailed);
  EXPECT_EQ(journal_->Live()->size(), 1u) << "still ours until it is really gone";
}

TEST_F(RegistryTest, StatusTellsOwnersApartAndFindsEveryHandler) {
  const ArchInfo* s390x = *LookupArch("s390x");
  procfs_.Preload(":qemu-s390x:M::" + EscapeBytes(s390x->magic) + ":" + EscapeBytes(s390x->mask) +
                  ":/usr/libexec/qemu-binfmt/s390x-binfmt-P:OPF");
  ASSERT_TRUE(Install(procfs_, *journal_, Plan("s390x"), false).ok());
  auto st = CollectStatus(procfs_, *journal_, *ParseArchList("s390x,arm", ArchScope::kEmulated));
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->mounted && st->enabled);
  const auto& arm = st->arches[0];
  const auto& s = st->arches[1];
  EXPECT_FALSE(arm.registered());
  ASSERT_EQ(s.entries.size(), 2u);
  EXPECT_TRUE(s.enabled());
  for (const auto& e : s.entries) {
    EXPECT_EQ(e.owned, e.name == "polyarch-s390x") << e.name;
    if (e.name == "qemu-s390x") {
      EXPECT_EQ(e.flags, "POF");  // the kernel prints P, O, C, F in that order
    }
  }
}

TEST_F(RegistryTest, ExportTextIsARegistrationLineSystemdReads) {
  auto plan = Plan("riscv64");
  std::string conf = BinfmtDConf(plan[0].entry);
  auto last = conf.substr(conf.rfind('\n', conf.size() - 2) + 1);
  last.pop_back();
  auto parsed = ParseRegistration(last);
  ASSERT_TRUE(parsed.ok()) << last;
  EXPECT_EQ(parsed->name, "polyarch-riscv64");
  EXPECT_EQ(conf[0], '#');
}

}  // namespace
}  // namespace polyarch
