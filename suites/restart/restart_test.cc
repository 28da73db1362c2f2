#include "suites/restart/restart.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>

#include "fake_driver.h"

namespace polyarch {
namespace {

using testing::FakeLayer;
using testing::FakeStack;

// A daemon over the fake stack, and the host's view of the fake containers' processes.
struct Harness {
  std::shared_ptr<FakeStack> stack = std::make_shared<FakeStack>();
  FakeLayer layer{stack};
  bool shutdown_stops_containers = false;
  Status restart_answer = Status::Ok();
  std::string not_the_container;  // what the host check says of every pid
  int signals = 0;
  int interrupts = 0, restarts = 0;
  std::vector<CaseResult> results;

  void StopAll(int code) {
    std::lock_guard<std::mutex> l(stack->mu);
    for (auto& [id, b] : stack->boxes) {
      if (b.state == ContainerState::kRunning) {
        b.state = ContainerState::kStopped;
        b.exit_code = code;
      }
    }
  }
  bool Running(const std::string& id) {
    std::lock_guard<std::mutex> l(stack->mu);
    auto it = stack->boxes.find(id);
    return it != stack->boxes.end() && it->second.state == ContainerState::kRunning;
  }

  RestartScenario Scenario(bool survive) {
    RestartScenario sc;
    sc.name = survive ? "fake_restart_keeps_containers" : "fake_shutdown_stops_containers";
    sc.containers_survive = survive;
    sc.target.daemon = "fakeD";
    sc.target.interrupt = [this](int) {
      ++interrupts;
      if (shutdown_stops_containers) StopAll(128 + SIGTERM);
      return Status::Ok();
    };
    sc.target.restart = [this] {
      ++restarts;
      return restart_answer;
    };
    sc.layers = {{"fake", &layer, ""}};
    return sc;
  }

  RestartConfig Config() {
    RestartConfig c;
    c.run_prefix = "rs-";
    c.step_timeout = std::chrono::seconds(5);
    c.answer_timeout = std::chrono::milliseconds(200);
    c.on_result = [this](CaseResult r) { results.push_back(std::move(r)); };
    c.not_the_container = [this](const std::string&, int) { return not_the_container; };
    c.process_gone = [this](const std::string& id, int) { return !Running(id); };
    c.signal_process = [this](const std::string& id, int, int sig) {
      ++signals;
      std::lock_guard<std::mutex> l(stack->mu);
      auto& b = stack->boxes.at(id);
      b.state = ContainerState::kStopped;
      b.exit_code = 128 + sig;
    };
    return c;
  }

  void Run(const RestartScenario& sc) {
    const ArchInfo* s390x = LookupArch("s390x").value();
    RunRestartSuite(Config(), {sc}, {HostArch(), s390x});
  }
};

TEST(RestartSuiteTest, ADaemonThatKeepsItsContainersPassesEveryCaseAndLeavesNone) {
  Harness h;
  h.Run(h.Scenario(true));
  ASSERT_EQ(h.results.size(), 2u);
  for (const auto& r : h.results) {
    EXPECT_EQ(r.status, CaseStatus::kPass) << r.Id() << ": " << r.reason;
    EXPECT_EQ(r.suite, "restart");
    for (const char* m :
         {"daemon_exit_ms", "restart_ms", "downtime_ms", "answer_after_restart_ms"}) {
      EXPECT_TRUE(r.metrics.count(m)) << m;
    }
  }
  EXPECT_EQ(h.results[0].Id(),
            "restart/fake/" + std::string(HostArch()->name) + "/fake_restart_keeps_containers");
  EXPECT_EQ(h.interrupts, 1) << "one event serves every arch";
  EXPECT_EQ(h.restarts, 1);
  EXPECT_EQ(h.signals, 2) << "one container per case exits while the daemon is down";
  EXPECT_TRUE(h.stack->boxes.empty());
}

TEST(RestartSuiteTest, ADaemonWhoseShutdownEndsItsContainersFailsTheKeepingCases) {
  Harness h;
  h.shutdown_stops_containers = true;
  h.Run(h.Scenario(true));
  ASSERT_EQ(h.results.size(), 2u);
  for (const auto& r : h.results) {
    EXPECT_EQ(r.status, CaseStatus::kFail) << r.Id();
    EXPECT_NE(r.reason.find("ended when fakeD went down"), std::string::npos) << r.reason;
  }
  EXPECT_TRUE(h.stack->boxes.empty()) << "the cases clean up after a failure too";
}

TEST(RestartSuiteTest, WithoutLiveRestoreTheShutdownMustStopTheContainers) {
  Harness h;
  h.shutdown_stops_containers = true;
  h.Run(h.Scenario(false));
  ASSERT_EQ(h.results.size(), 2u);
  for (const auto& r : h.results) EXPECT_EQ(r.status, CaseStatus::kPass) << r.reason;

  Harness keeps;  // it promised to stop them and did not
  keeps.Run(keeps.Scenario(false));
  ASSERT_EQ(keeps.results.size(), 2u);
  for (const auto& r : keeps.results) {
    EXPECT_EQ(r.status, CaseStatus::kFail);
    EXPECT_NE(r.reason.find("left the container's process"), std::string::npos) << r.reason;
  }
  EXPECT_TRUE(keeps.stack->boxes.empty());
}

TEST(RestartSuiteTest, ADaemonThatDoesNotComeBackErrorsEveryCase) {
  Harness h;
  h.restart_answer = Unavailable("socket never appeared");
  h.Run(h.Scenario(true));
  ASSERT_EQ(h.results.size(), 2u);
  for (const auto& r : h.results) {
    EXPECT_EQ(r.status, CaseStatus::kError);
    EXPECT_NE(r.reason.find("fakeD did not come back: socket never appeared"), std::string::npos)
        << r.reason;
  }
}

TEST(RestartSuiteTest, APidThatIsNotTheContainersIsNeverSignalled) {
  Harness h;
  h.not_the_container = "its command line is '/sbin/init'";
  h.Run(h.Scenario(true));
  ASSERT_EQ(h.results.size(), 2u);
  for (const auto& r : h.results) {
    EXPECT_EQ(r.status, CaseStatus::kFail);
    EXPECT_NE(r.reason.find("is not the container's process: its command line"), std::string::npos)
        << r.reason;
  }
  EXPECT_EQ(h.signals, 0);
  EXPECT_EQ(h.interrupts, 0) << "no container was ready: the daemon is left alone";
}

TEST(RestartSuiteTest, ADaemonPolyarchDidNotStartIsNotRestartedAndItsCasesAreSkipped) {
  Harness h;
  RestartScenario sc = h.Scenario(true);
  sc.target.unavailable = "fakeD was given (not started by polyarch)";
  h.Run(sc);
  ASSERT_EQ(h.results.size(), 2u);
  for (const auto& r : h.results) {
    EXPECT_EQ(r.status, CaseStatus::kSkip);
    EXPECT_EQ(r.reason, sc.target.unavailable);
  }
  EXPECT_EQ(h.interrupts, 0);
  RestartConfig c = h.Config();
  c.selected = [](const std::string&, const std::string& id) {
    return id.find("/s390x/") != std::string::npos;
  };
  EXPECT_EQ(CountRestartCases(c, {sc}, {HostArch(), LookupArch("s390x").value()}), 1);
}

TEST(RestartSuiteTest, OnlyAProbeInAContainerCountsAsTheContainersProcess) {
  EXPECT_NE(ProbeProcessProblem(1), "");
  EXPECT_NE(ProbeProcessProblem(::getpid()), "");
  EXPECT_NE(ProbeProcessProblem(0), "");
  EXPECT_NE(ProbeProcessProblem(-5), "");
}

}  // namespace
}  // namespace polyarch
