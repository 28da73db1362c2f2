#include "harness/run/outcome.h"

#include <gtest/gtest.h>

namespace polyarch {
namespace {

Summary Counts(int pass, int fail = 0, int skip = 0, int error = 0, int aborted = 0) {
  Summary s;
  s.pass = pass;
  s.fail = fail;
  s.skip = skip;
  s.error = error;
  s.aborted = aborted;
  s.total = pass + fail + skip + error + aborted;
  return s;
}

TEST(OutcomeTest, AllPassIsZeroWithNoReason) {
  Outcome o = DecideOutcome({.summary = Counts(10, 0, 2)});
  EXPECT_EQ(o.code, kExitOk);
  EXPECT_TRUE(o.reasons.empty());
}

TEST(OutcomeTest, CasesThatDidNotPassAreCounted) {
  Outcome o = DecideOutcome({.summary = Counts(7, 2, 0, 1)});
  EXPECT_EQ(o.code, kExitCheckFailed);
  ASSERT_EQ(o.reasons.size(), 1u);
  EXPECT_EQ(o.reasons[0], "3 of 10 cases did not pass (2 failed, 1 errored)");
  EXPECT_EQ(DecideOutcome({.summary = Counts(1, 0, 0, 0, 1)}).reasons[0],
            "1 of 2 cases did not pass (1 aborted)");
}

// The first run on a fresh host: every case passed, yet a mount was left.
TEST(OutcomeTest, ACleanupProblemFailsAnAllPassRunAndIsNamed) {
  Outcome o = DecideOutcome(
      {.summary = Counts(1020), .cleanup_problems = {"mount /x (tmpfs) was left", "cgroup /y"}});
  EXPECT_EQ(o.code, kExitCheckFailed);
  ASSERT_EQ(o.reasons.size(), 1u);
  EXPECT_EQ(o.reasons[0], "cleanup did not restore the host: mount /x (tmpfs) was left; cgroup /y");
}

TEST(OutcomeTest, SkipsFailOnlyUnderStrict) {
  EXPECT_EQ(DecideOutcome({.summary = Counts(5, 0, 3)}).code, kExitOk);
  Outcome o = DecideOutcome({.summary = Counts(5, 0, 3), .strict = true});
  EXPECT_EQ(o.code, kExitCheckFailed);
  EXPECT_EQ(o.reasons[0], "--strict: 3 skipped cases count as failures");
  EXPECT_EQ(DecideOutcome({.summary = Counts(5, 0, 1), .strict = true}).reasons[0],
            "--strict: 1 skipped case counts as failures");
}

TEST(OutcomeTest, AnInterruptionDecidesTheCodeAndEveryReasonIsKept) {
  Outcome o = DecideOutcome({.summary = Counts(3, 1), .interrupted_by = "SIGINT"});
  EXPECT_EQ(o.code, kExitAborted);
  ASSERT_EQ(o.reasons.size(), 2u);
  EXPECT_EQ(o.reasons[0], "interrupted by SIGINT");
}

TEST(OutcomeTest, TheBaselineGateAndTheReportsHaveTheirOwnCodes) {
  Outcome regression =
      DecideOutcome({.summary = Counts(4), .baseline = "old.json", .regression = true});
  EXPECT_EQ(regression.code, kExitCheckFailed);
  EXPECT_EQ(regression.reasons[0], "a regression against the baseline old.json (compare.json)");
  Outcome unreadable =
      DecideOutcome({.summary = Counts(4), .baseline = "old.json", .baseline_error = "not JSON"});
  EXPECT_EQ(unreadable.code, kExitUsage);
  EXPECT_EQ(unreadable.reasons[0], "baseline old.json: not JSON");
  Outcome unwritten = DecideOutcome({.summary = Counts(4), .report_error = "ENOSPC"});
  EXPECT_EQ(unwritten.code, kExitEnvironment);
  // A failed case outranks both.
  EXPECT_EQ(DecideOutcome({.summary = Counts(3, 1), .report_error = "ENOSPC"}).code,
            kExitCheckFailed);
}

}  // namespace
}  // namespace polyarch
