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

// A known deviation is reported, never a reason to fail, with --strict or without.
TEST(OutcomeTest, XfailNeverFailsTheRun) {
  Summary s = Counts(8);
  s.xfail = 3;
  s.total += 3;
  for (bool strict : {false, true}) {
    Outcome o = DecideOutcome({.summary = s, .strict = strict});
    EXPECT_EQ(o.code, kExitOk) << strict;
    EXPECT_TRUE(o.reasons.empty()) << strict;
    EXPECT_TRUE(o.warnings.empty()) << strict;
  }
}

// A listed case that passes: the entry is stale. A warning, or with --strict a failed run.
TEST(OutcomeTest, XpassFailsTheRunOnlyUnderStrict) {
  Summary s = Counts(8);
  s.xpass = 2;
  s.total += 2;
  const std::vector<std::string> stale = {"spec/crun/s390x/rlimits (known.json:entry 1)",
                                          "spec/crun/arm/rlimits (known.json:entry 1)"};
  Outcome lax = DecideOutcome({.summary = s, .stale_expectations = stale});
  EXPECT_EQ(lax.code, kExitOk);
  EXPECT_TRUE(lax.reasons.empty());
  ASSERT_EQ(lax.warnings.size(), 1u);
  EXPECT_EQ(lax.warnings[0],
            "2 cases passed that expectations list as known deviations (stale entries; --strict "
            "fails the run): spec/crun/s390x/rlimits (known.json:entry 1), spec/crun/arm/rlimits "
            "(known.json:entry 1)");
  Outcome strict = DecideOutcome({.summary = s, .strict = true, .stale_expectations = stale});
  EXPECT_EQ(strict.code, kExitCheckFailed);
  ASSERT_EQ(strict.reasons.size(), 1u);
  EXPECT_EQ(strict.reasons[0],
            "--strict: 2 cases passed that expectations list as known deviations (stale "
            "entries): spec/crun/s390x/rlimits (known.json:entry 1), spec/crun/arm/rlimits "
            "(known.json:entry 1)");
  EXPECT_TRUE(strict.warnings.empty());
}

TEST(OutcomeTest, UnusedExpectationsAreAWarningAndLongListsAreCut) {
  std::vector<std::string> unused;
  for (int i = 1; i <= 7; ++i) unused.push_back("k.json:entry " + std::to_string(i) + " (x/*/*/y)");
  Outcome o = DecideOutcome({.summary = Counts(4), .unused_expectations = unused});
  EXPECT_EQ(o.code, kExitOk);
  ASSERT_EQ(o.warnings.size(), 1u);
  EXPECT_EQ(o.warnings[0],
            "7 expectations entries matched no case in this run: k.json:entry 1 (x/*/*/y), "
            "k.json:entry 2 (x/*/*/y), k.json:entry 3 (x/*/*/y), k.json:entry 4 (x/*/*/y), "
            "k.json:entry 5 (x/*/*/y) and 2 more");
  EXPECT_EQ(DecideOutcome({.summary = Counts(4), .unused_expectations = {"k.json:entry 1 (a)"}})
                .warnings[0],
            "1 expectations entry matched no case in this run: k.json:entry 1 (a)");
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
