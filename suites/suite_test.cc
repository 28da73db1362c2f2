#include "suites/suite.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <stdexcept>

#include <gtest/gtest.h>

#include "fake_driver.h"

namespace polyarch {
namespace {

using testing::FakeDriver;
using testing::FakeStack;

class OneCaseSuite : public Suite {
 public:
  explicit OneCaseSuite(std::function<void(CaseContext&)> body) : body_(std::move(body)) {}
  std::string_view name() const override { return "unit"; }
  std::vector<CaseDef> Cases() const override {
    std::vector<CaseDef> v;
    AddCase(v, "the_case", "", {}, body_);
    return v;
  }

 private:
  std::function<void(CaseContext&)> body_;
};

CaseResult RunBody(std::shared_ptr<FakeStack> stack, std::function<void(CaseContext&)> body) {
  OneCaseSuite suite(std::move(body));
  FakeDriver d(stack);
  SuiteEnv env;
  env.run_prefix = "pa-unit-";
  return RunCase(suite, suite.Cases()[0], d, **LookupArch("amd64"), env);
}

// A driver of a layer named ENGINE:RUNTIME.
class EngineRuntimeDriver : public FakeDriver {
 public:
  using FakeDriver::FakeDriver;
  std::string_view layer_name() const override { return "containerd:crun"; }
};

class NamedCaseSuite : public Suite {
 public:
  NamedCaseSuite(std::string name, std::function<void(CaseContext&)> body)
      : name_(std::move(name)), body_(std::move(body)) {}
  std::string_view name() const override { return "unit"; }
  std::vector<CaseDef> Cases() const override {
    std::vector<CaseDef> v;
    AddCase(v, name_, "", {}, body_);
    return v;
  }

 private:
  std::string name_;
  std::function<void(CaseContext&)> body_;
};

// containerd refuses ids longer than 76 characters and every runtime a ':'; a layer named
// containerd:crun and a long case name must still give valid ids, distinct per case.
TEST(RunCaseTest, ContainerIdsFitContainerdAndCarryNoColon) {
  std::vector<std::string> ids;
  for (const std::string& name :
       {std::string(70, 'a') + "_one", std::string(70, 'a') + "_two", std::string("short")}) {
    NamedCaseSuite suite(name, [&ids](CaseContext& ctx) {
      ids.push_back(ctx.NewId("tag"));
      ids.push_back(ctx.NewId("tag"));
    });
    EngineRuntimeDriver d(std::make_shared<FakeStack>());
    SuiteEnv env;
    env.run_prefix = "pa1234-";
    RunCase(suite, suite.Cases()[0], d, **LookupArch("mips64el"), env);
  }
  ASSERT_EQ(ids.size(), 6u);
  std::set<std::string> distinct(ids.begin(), ids.end());
  EXPECT_EQ(distinct.size(), ids.size());
  for (const auto& id : ids) {
    EXPECT_LE(id.size(), 76u) << id;
    EXPECT_EQ(id.find(':'), std::string::npos) << id;
    EXPECT_EQ(id.rfind("pa1234-containerd-crun-mips64el-", 0), 0u) << id;
  }
  EXPECT_EQ(ids[4], "pa1234-containerd-crun-mips64el-short-tag0") << "short names stay whole";
}

// A probe printing {"machine": 5} once made nlohmann throw out of a case and abort the
// whole run. An exception escaping a case body now ends that case as an error with the
// message, and what the case created is still removed.
TEST(RunCaseTest, AnExceptionInACaseBodyIsThatCasesError) {
  auto stack = std::make_shared<FakeStack>();
  CaseResult r = RunBody(stack, [](CaseContext& ctx) {
    ASSERT_TRUE(ctx.Run(ctx.Spec(ctx.NewId(), kProbeSleeper)));
    nlohmann::json info = nlohmann::json::parse(R"({"machine": 5})");
    (void)info["machine"].get<std::string>();  // throws type_error
  });
  EXPECT_EQ(r.status, CaseStatus::kError);
  EXPECT_NE(r.reason.find("exception"), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find("type must be string, but is number"), std::string::npos) << r.reason;
  EXPECT_TRUE(stack->boxes.empty()) << "the container the case made is cleaned up";
  ASSERT_FALSE(r.steps.empty());
  EXPECT_EQ(r.steps.back().verb, "cleanup");
}

TEST(RunCaseTest, AnExceptionAfterAFailureKeepsTheFirstReason) {
  auto stack = std::make_shared<FakeStack>();
  CaseResult r = RunBody(stack, [](CaseContext& ctx) {
    ctx.Fail("the state was wrong");
    throw std::runtime_error("and then it broke");
  });
  EXPECT_EQ(r.status, CaseStatus::kError);
  EXPECT_NE(r.reason.find("and then it broke"), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find("the state was wrong"), std::string::npos) << r.reason;
}

TEST(RunCaseTest, ARequiredRefusalIsMarkedAndAnUnexpectedFailureIsNot) {
  auto stack = std::make_shared<FakeStack>();
  CaseResult r = RunBody(stack, [](CaseContext& ctx) {
    std::string id = ctx.NewId();
    ASSERT_TRUE(ctx.Run(ctx.Spec(id, kProbeSleeper)));
    ctx.Refused(ctx.Start(id), "a second start");   // refused, as the case requires
    ctx.Ok(ctx.Pause("pa-unit-no-such"), "pause");  // fails, and the case did not want that
  });
  ASSERT_GE(r.steps.size(), 4u);
  EXPECT_EQ(r.steps[2].verb, "start");
  EXPECT_FALSE(r.steps[2].ok);
  EXPECT_TRUE(r.steps[2].expected_refusal);
  EXPECT_EQ(r.steps[3].verb, "pause");
  EXPECT_FALSE(r.steps[3].ok);
  EXPECT_FALSE(r.steps[3].expected_refusal);
  EXPECT_EQ(r.status, CaseStatus::kFail);
}

TEST(RunCaseTest, StepsCarryTheirVerbApartFromTheirName) {
  auto stack = std::make_shared<FakeStack>();
  CaseResult r = RunBody(stack, [](CaseContext& ctx) {
    std::string id = ctx.NewId();
    ASSERT_TRUE(ctx.Run(ctx.Spec(id, kProbeSleeper)));
    ctx.Exec(id, {"/probe", "echo-args", "x"});
    ctx.Kill(id, 9);
    ctx.Delete(id, true);
  });
  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& s : r.steps) got.emplace_back(s.verb, s.name);
  EXPECT_EQ(got, (std::vector<std::pair<std::string, std::string>>{
                     {"create", "create"},
                     {"start", "start"},
                     {"exec", "exec /probe echo-args x"},
                     {"kill", "kill 9"},
                     {"delete --force", "delete --force"}}));
}

TEST(GuardedTest, AThrowingDriverCallIsAFailedResult) {
  StepResult r = Guarded([]() -> StepResult { throw std::runtime_error("boom"); });
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status.message().find("boom"), std::string::npos);
  StepResult fine = Guarded([] { return StepResult{}; });
  EXPECT_TRUE(fine.ok());
}

TEST(ExpectNoneTest, JoinsEveryFailureIntoTheReason) {
  auto stack = std::make_shared<FakeStack>();
  CaseResult r = RunBody(stack, [](CaseContext& ctx) {
    EXPECT_TRUE(ctx.ExpectNone({}));
    EXPECT_FALSE(ctx.ExpectNone({"a is wrong", "b is missing"}));
  });
  EXPECT_EQ(r.status, CaseStatus::kFail);
  EXPECT_EQ(r.reason, "a is wrong; b is missing");
}

// A child that runs `script` under sh, with $PA_NEXT set to `next`; killed and reaped at the
// end of the test.
class Child {
 public:
  Child(const std::string& script, const std::string& next) {
    const std::string env = "PA_NEXT=" + next;  // built before fork: the child only execs
    char* const envp[] = {const_cast<char*>(env.c_str()), const_cast<char*>("PATH=/usr/bin:/bin"),
                          nullptr};
    pid_ = fork();
    if (pid_ == 0) {
      execle("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr), envp);
      _exit(127);
    }
  }
  ~Child() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    Reap();
  }
  int pid() const { return pid_; }
  // Waits for its end; the pid is then no longer its own and is never signalled.
  int Reap() {
    const int pid = pid_;
    if (pid > 0) waitpid(pid, nullptr, 0);
    pid_ = -1;
    return pid;
  }

 private:
  int pid_ = -1;
};

// The "probe": sleep(1) under a path ending in /probe, which is all WaitPidAsleep looks for.
std::string FakeProbe() {
  const std::string dir = ::testing::TempDir() + "pa-wait-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  std::error_code ec;
  std::filesystem::create_symlink("/bin/sleep", dir + "/probe", ec);
  return dir + "/probe";
}

TEST(WaitPidAsleepTest, WaitsThroughTheRuntimesInitUntilTheProbeSleeps) {
  // Another program first (as `runc init` is until it execs the probe), then the probe.
  const std::string probe = FakeProbe();
  Child c("sleep 0.3; exec \"$PA_NEXT\" 30", probe);
  ASSERT_GT(c.pid(), 0);
  const double waited = WaitPidAsleep(c.pid(), std::chrono::seconds(10));
  EXPECT_GE(waited, 250) << "seen asleep before the probe ran";
  EXPECT_LT(waited, 9000);
  std::filesystem::remove_all(std::filesystem::path(probe).parent_path());
}

TEST(WaitPidAsleepTest, AProgramThatNeverBecomesTheProbeOrIsGoneIsNotSeenAsleep) {
  Child other("exec sleep 30", "");
  ASSERT_GT(other.pid(), 0);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(WaitPidAsleep(other.pid(), std::chrono::milliseconds(300)), -1);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(300));
  Child gone("exit 0", "");
  ASSERT_GT(gone.pid(), 0);
  const int gone_pid = gone.Reap();
  EXPECT_EQ(WaitPidAsleep(gone_pid, std::chrono::seconds(10)), -1);
  EXPECT_EQ(WaitPidAsleep(0, std::chrono::seconds(10)), -1);
}

}  // namespace
}  // namespace polyarch
