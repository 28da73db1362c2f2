#include "suites/lifecycle/lifecycle_suite.h"

#include <set>

#include <gtest/gtest.h>

#include "fake_driver.h"

namespace polyarch {
namespace {

using testing::FakeDriver;
using testing::FakeStack;
using testing::Lie;

// These two observe the kernel (/proc of the container's pid), which a fake cannot provide;
// the integration tests run them against the real stack.
bool ObservesKernel(const std::string& name) {
  return name == "state_pid_matches_kernel" || name == "pause_freezes_and_resume_thaws" ||
         name == "create_does_not_run_the_program";
}

std::map<std::string, CaseResult> RunAll(std::shared_ptr<FakeStack> stack) {
  SuiteEnv env;
  env.run_prefix = "pa-test-";
  env.step_timeout = std::chrono::seconds(5);
  env.new_driver = [stack] { return std::make_unique<FakeDriver>(stack); };
  LifecycleSuite suite;
  FakeDriver d(stack);
  std::map<std::string, CaseResult> out;
  for (const CaseDef& c : suite.Cases()) {
    out[c.name] = RunCase(suite, c, d, **LookupArch("s390x"), env);
  }
  return out;
}

TEST(LifecycleSuiteTest, AnHonestStackPassesEveryCaseAndIsLeftEmpty) {
  auto stack = std::make_shared<FakeStack>();
  auto results = RunAll(stack);
  EXPECT_GE(results.size(), 20u);
  for (const auto& [name, r] : results) {
    if (ObservesKernel(name)) continue;
    EXPECT_EQ(r.status, CaseStatus::kPass) << name << ": " << r.reason;
    EXPECT_EQ(r.suite, "lifecycle");
    EXPECT_EQ(r.arch, "s390x");
    EXPECT_FALSE(r.steps.empty()) << name;
  }
  EXPECT_TRUE(stack->boxes.empty()) << "every case cleans up after itself";
  EXPECT_FALSE(results["create_reports_created"].spec_ref.empty());
}

struct LieCase {
  Lie lie;
  std::vector<std::string> must_fail;
};

class LyingStackTest : public ::testing::TestWithParam<LieCase> {};

TEST_P(LyingStackTest, TheCasesCheckingThePromiseFail) {
  auto stack = std::make_shared<FakeStack>();
  stack->lies.insert(GetParam().lie);
  auto results = RunAll(stack);
  for (const auto& name : GetParam().must_fail) {
    ASSERT_TRUE(results.count(name)) << name;
    EXPECT_EQ(results[name].status, CaseStatus::kFail) << name << " did not notice";
    EXPECT_FALSE(results[name].reason.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Lies, LyingStackTest,
    ::testing::Values(
        LieCase{Lie::kRunningWhenCreated, {"create_reports_created", "create_duplicate_id_fails"}},
        LieCase{
            Lie::kExitCodeOffByOne,
            {"exit_code_0", "exit_code_42", "kill_term_exits_143", "stop_escalates_to_kill_137"}},
        LieCase{Lie::kDeleteRunningSucceeds,
                {"delete_running_refused_without_force", "delete_created_refused"}},
        LieCase{Lie::kStartTwiceSucceeds, {"start_twice_fails", "start_of_stopped_container"}},
        LieCase{Lie::kExecIgnoresArgs, {"exec_reports_exit_code_and_output"}},
        LieCase{Lie::kListForgetsNothing,
                {"state_after_delete_is_not_found", "twenty_concurrent_containers"}},
        LieCase{Lie::kKillIgnored,
                {"kill_term_exits_143", "stop_escalates_to_kill_137", "kill_created_stops_it"}},
        LieCase{Lie::kStoppedSaysRunning,
                {"state_stopped_after_exit", "state_stopped_after_kill"}}));

// A stack that breaks one promise fails exactly the cases that check it, no more: the
// suite's other cases do not depend on the lie.
TEST(LifecycleSuiteTest, AStackThatSaysRunningAfterExitFailsOnlyTheStoppedStateCases) {
  // Every case that asks for the state of a stopped container, and no other.
  auto stack = std::make_shared<FakeStack>();
  stack->lies.insert(Lie::kStoppedSaysRunning);
  auto results = RunAll(stack);
  std::set<std::string> failed;
  for (const auto& [name, r] : results) {
    if (ObservesKernel(name)) continue;
    if (r.status != CaseStatus::kPass) failed.insert(name);
  }
  EXPECT_EQ(failed, (std::set<std::string>{"state_stopped_after_exit", "state_stopped_after_kill",
                                           "kill_created_stops_it", "kill_stopped_refused"}));
  EXPECT_NE(results["state_stopped_after_exit"].reason.find("'running', expected 'stopped'"),
            std::string::npos)
      << results["state_stopped_after_exit"].reason;
}

TEST(LifecycleSuiteTest, MissingCapabilitiesSkipWithTheReason) {
  auto stack = std::make_shared<FakeStack>();
  stack->caps.pause = false;
  stack->caps.exec = false;
  auto results = RunAll(stack);
  EXPECT_EQ(results["pause_freezes_and_resume_thaws"].status, CaseStatus::kSkip);
  EXPECT_NE(results["pause_freezes_and_resume_thaws"].reason.find("pause"), std::string::npos);
  EXPECT_EQ(results["exec_reports_exit_code_and_output"].status, CaseStatus::kSkip);
  EXPECT_EQ(results["start_reports_running"].status, CaseStatus::kPass);
}

TEST(LifecycleSuiteTest, AStackThatStopsAnsweringAbortsTheCase) {
  class Gone : public FakeDriver {
   public:
    using FakeDriver::FakeDriver;
    StepResult Start(const std::string&) override {
      StepResult r;
      r.status = Unavailable("connect: connection refused");
      return r;
    }
  };
  auto stack = std::make_shared<FakeStack>();
  Gone d(stack);
  SuiteEnv env;
  env.run_prefix = "pa-test-";
  LifecycleSuite suite;
  for (const CaseDef& c : suite.Cases()) {
    if (c.name != "start_reports_running") continue;
    CaseResult r = RunCase(suite, c, d, **LookupArch("amd64"), env);
    EXPECT_EQ(r.status, CaseStatus::kAborted);
    EXPECT_NE(r.reason.find("stopped answering"), std::string::npos);
  }
}

// runc on cgroup v1 may give up on a freezer that stays FREEZING ("unable to freeze") and
// leave the container running: pause is tried again while the state says running, each try a
// step, and a pause that never works fails the case saying how often it was tried.
class FreezeFails : public FakeDriver {
 public:
  FreezeFails(std::shared_ptr<FakeStack> stack, int failures)
      : FakeDriver(std::move(stack)), failures_(failures) {}
  StepResult Pause(const std::string& id) override {
    if (failures_ == 0) return FakeDriver::Pause(id);
    --failures_;
    StepResult r;
    r.status = Internal("unable to freeze");
    r.operation = "runc pause";
    return r;
  }

 private:
  int failures_;
};

CaseResult RunPauseCase(FakeDriver& d) {
  SuiteEnv env;
  env.run_prefix = "pa-test-";
  env.step_timeout = std::chrono::seconds(5);
  LifecycleSuite suite;
  for (const CaseDef& c : suite.Cases()) {
    if (c.name == "pause_freezes_and_resume_thaws") {
      return RunCase(suite, c, d, **LookupArch("s390x"), env);
    }
  }
  ADD_FAILURE() << "no pause case";
  return {};
}

int PauseSteps(const CaseResult& r) {
  int n = 0;
  for (const StepRecord& s : r.steps) n += s.verb == "pause" ? 1 : 0;
  return n;
}

TEST(LifecycleSuiteTest, APauseThatNeverFreezesFailsAfterThreeAttempts) {
  auto stack = std::make_shared<FakeStack>();
  FreezeFails d(stack, 1000);
  CaseResult r = RunPauseCase(d);
  EXPECT_EQ(r.status, CaseStatus::kFail);
  EXPECT_NE(r.reason.find("pause (3 attempts) failed: unable to freeze"), std::string::npos)
      << r.reason;
  EXPECT_EQ(r.metrics["pause_attempts"], 3);
  EXPECT_EQ(PauseSteps(r), 3);
  EXPECT_TRUE(stack->boxes.empty());
}

TEST(LifecycleSuiteTest, APauseThatFreezesOnItsSecondAttemptGoesOn) {
  auto stack = std::make_shared<FakeStack>();
  FreezeFails d(stack, 1);
  CaseResult r = RunPauseCase(d);
  // The fake has no kernel process to count CPU ticks of: the case ends there, past pause.
  EXPECT_EQ(r.metrics["pause_attempts"], 2);
  EXPECT_EQ(PauseSteps(r), 2);
  EXPECT_EQ(r.reason.find("pause failed"), std::string::npos) << r.reason;
  EXPECT_EQ(r.reason.find("attempts"), std::string::npos) << r.reason;
}

}  // namespace
}  // namespace polyarch
