// Recovery decides what of a killed run to remove from the journal alone: these tests give it
// a journal, a fake /proc and a fake binfmt_misc, and check what it removes, what it leaves,
// and that nothing the journal does not name is touched.
#include "harness/run/recovery.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include "binfmt/arch.h"
#include "binfmt/entry.h"
#include "binfmt/registry.h"
#include "fake_procfs.h"
#include "harness/core/fs.h"

namespace polyarch {
namespace {

using nlohmann::json;

class RecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("polyarch-recovery-");
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(*d));
    auto j = Journal::Open(dir_->path() + "/state/journal.jsonl");
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    journal_ = std::make_unique<Journal>(std::move(*j));
    proc_ = dir_->path() + "/fakeroot";
  }

  // A run record, and the run's directory; `alive` gives its pid a polyarch command line in
  // the fake /proc.
  std::string AddRun(const std::string& id, int pid, bool alive) {
    const std::string run_dir = dir_->path() + "/runs/" + id;
    EXPECT_TRUE(MakeDirs(run_dir + "/bundles").ok());
    EXPECT_TRUE(journal_
                    ->Add({kJournalKindRun,
                           id,
                           {{"pid", pid}, {"run_dir", run_dir}, {"prefix", "pa" + id + "-"}}})
                    .ok());
    if (alive) {
      const std::string proc = proc_ + "/proc/" + std::to_string(pid);
      EXPECT_TRUE(MakeDirs(proc).ok());
      EXPECT_TRUE(
          WriteFileAtomic(proc + "/cmdline", std::string("/usr/bin/polyarch\0run", 21)).ok());
    }
    return run_dir;
  }

  Entry S390xEntry(const std::string& prefix) {
    return EntryForArch(**LookupArch("s390x"), prefix, "/usr/bin", "F");
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Journal> journal_;
  std::string proc_;
  FakeProcFs procfs_;
};

TEST_F(RecoveryTest, ListsRunsWithTheirRecordsAndWhetherTheyStillRun) {
  AddRun("r1", 111, /*alive=*/false);
  AddRun("r2", 222, /*alive=*/true);
  journal_->SetRun("r1");
  ASSERT_TRUE(journal_->Add({"container", "pa-r1-c0", {{"binary", "/bin/false"}}}).ok());
  journal_->SetRun("");
  ASSERT_TRUE(journal_->Add({"other", "untagged", json::object()}).ok());

  auto runs = ListRuns(*journal_, proc_);
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].id, "r1");
  EXPECT_EQ((*runs)[0].pid, 111);
  EXPECT_FALSE((*runs)[0].alive);
  ASSERT_EQ((*runs)[0].records.size(), 1u);
  EXPECT_EQ((*runs)[0].records[0].key, "pa-r1-c0");
  EXPECT_EQ((*runs)[1].id, "r2");
  EXPECT_TRUE((*runs)[1].alive);
  EXPECT_TRUE((*runs)[1].records.empty());
}

TEST_F(RecoveryTest, ARunThatStillRunsIsRefusedAndNothingIsTouched) {
  const std::string run_dir = AddRun("r2", 222, /*alive=*/true);
  Entry e = S390xEntry("pa-r2-");
  procfs_.Preload(e.RegistrationLine());
  journal_->SetRun("r2");
  ASSERT_TRUE(
      journal_->Add({std::string(kJournalKindBinfmt), e.name, {{"line", e.RegistrationLine()}}})
          .ok());
  auto runs = ListRuns(*journal_, proc_);
  ASSERT_TRUE(runs.ok());
  RecoveryReport rep = RecoverRun(*journal_, (*runs)[0], procfs_);
  EXPECT_FALSE(rep.ok());
  ASSERT_EQ(rep.problems.size(), 1u);
  EXPECT_NE(rep.problems[0].find("still running"), std::string::npos);
  EXPECT_TRUE(procfs_.ReadEntry(e.name).ok()) << "its binfmt entry stays";
  EXPECT_TRUE(PathExists(run_dir));
  EXPECT_TRUE(procfs_.writes.empty());
}

// The binfmt entries of a dead run go only while they hold what it wrote; the run's directory
// goes; the journal forgets the run; an entry someone else registered is never touched.
TEST_F(RecoveryTest, ADeadRunsEntriesAndDirectoryGoAndTheJournalForgetsIt) {
  const std::string run_dir = AddRun("r1", 111, /*alive=*/false);
  Entry ours = S390xEntry("pa-r1-");
  Entry changed = EntryForArch(**LookupArch("arm"), "pa-r1-", "/usr/bin", "F");
  Entry foreign = S390xEntry("qemu-");
  procfs_.Preload(ours.RegistrationLine());
  procfs_.Preload(foreign.RegistrationLine());
  // The run wrote `changed` with F; what is registered under its name now has P too.
  Entry replaced = changed;
  replaced.flags = "FP";
  procfs_.Preload(replaced.RegistrationLine());
  journal_->SetRun("r1");
  for (const Entry& e : {ours, changed}) {
    ASSERT_TRUE(
        journal_->Add({std::string(kJournalKindBinfmt), e.name, {{"line", e.RegistrationLine()}}})
            .ok());
  }
  // A record written by hand with fields of the wrong type must not stop the recovery.
  ASSERT_TRUE(journal_->Add({"container", "pa-r1-odd", {{"binary", 5}, {"id", {1, 2}}}}).ok());
  journal_->SetRun("");

  auto runs = ListRuns(*journal_, proc_);
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);
  RecoveryReport rep = RecoverRun(*journal_, (*runs)[0], procfs_);

  EXPECT_FALSE(procfs_.ReadEntry(ours.name).ok()) << "the run's own entry is removed";
  EXPECT_TRUE(procfs_.ReadEntry(changed.name).ok()) << "a changed entry is left";
  EXPECT_TRUE(procfs_.ReadEntry(foreign.name).ok()) << "another owner's entry is never touched";
  EXPECT_EQ(procfs_.writes, std::vector<std::string>{"remove " + ours.name});
  bool said_left = false;
  for (const auto& a : rep.actions) said_left |= a.find("left binfmt entry " + changed.name) == 0;
  EXPECT_TRUE(said_left);
  EXPECT_FALSE(PathExists(run_dir));
  // The odd record is a problem of its own; everything else was done.
  ASSERT_EQ(rep.problems.size(), 1u) << rep.problems[0];
  EXPECT_NE(rep.problems[0].find("pa-r1-odd"), std::string::npos);
  auto binfmt_left = journal_->Live(kJournalKindBinfmt);
  ASSERT_TRUE(binfmt_left.ok());
  EXPECT_TRUE(binfmt_left->empty()) << "the journal forgets what recovery dealt with";
}

}  // namespace
}  // namespace polyarch
