// Driver::Run as the four verbs, for layers without a single call of their own.
#include "harness/drivers/driver.h"

#include <gtest/gtest.h>

#include "fake_driver.h"

namespace polyarch {
namespace {

ContainerSpec Probe(const std::string& id, std::vector<std::string> argv) {
  ContainerSpec s;
  s.id = id;
  s.arch = HostArch();
  s.argv = std::move(argv);
  return s;
}

TEST(DriverRunTest, RunsToTheExitCodeAndRemovesTheContainer) {
  auto stack = std::make_shared<testing::FakeStack>();
  testing::FakeDriver d(stack);
  WaitResult w = d.Run(Probe("r1", {"/probe", "exit", "7"}), std::chrono::seconds(1));
  ASSERT_TRUE(w.ok()) << w.status.ToString();
  EXPECT_TRUE(w.exited);
  EXPECT_EQ(w.exit_code, 7);
  EXPECT_EQ(w.operation, "fake run (create, start, wait, delete)");
  EXPECT_TRUE(stack->boxes.empty());
}

TEST(DriverRunTest, AProcessStillRunningAtTheDeadlineIsRemovedByForce) {
  auto stack = std::make_shared<testing::FakeStack>();
  testing::FakeDriver d(stack);
  WaitResult w = d.Run(Probe("r2", {"/probe", "sleep", "60"}), std::chrono::milliseconds(10));
  ASSERT_TRUE(w.ok()) << w.status.ToString();
  EXPECT_FALSE(w.exited);
  EXPECT_TRUE(stack->boxes.empty()) << "a plain delete of a running container is refused";
}

TEST(DriverRunTest, ARefusedCreateIsTheRunsFailureAndTouchesNothingElse) {
  auto stack = std::make_shared<testing::FakeStack>();
  testing::FakeDriver d(stack);
  ASSERT_TRUE(d.Create(Probe("taken", {"/probe", "sleep", "60"})).ok());
  WaitResult w = d.Run(Probe("taken", {"/probe", "exit", "0"}), std::chrono::seconds(1));
  EXPECT_EQ(w.status.code(), Code::kAlreadyExists);
  EXPECT_FALSE(w.exited);
  EXPECT_EQ(stack->boxes.count("taken"), 1u) << "the container that held the id is not the run's";
}

TEST(DriverRunTest, AStartRefusedIsTheRunsFailureAndTheContainerIsRemoved) {
  auto stack = std::make_shared<testing::FakeStack>();
  stack->lies.insert(testing::Lie::kStartFails);
  testing::FakeDriver d(stack);
  WaitResult w = d.Run(Probe("r3", {"/probe", "exit", "0"}), std::chrono::seconds(1));
  EXPECT_EQ(w.status.code(), Code::kFailedPrecondition);
  EXPECT_NE(w.status.message().find("no such file"), std::string::npos);
  EXPECT_FALSE(w.exited);
  EXPECT_TRUE(stack->boxes.empty());
}

}  // namespace
}  // namespace polyarch
