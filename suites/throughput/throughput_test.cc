#include "suites/throughput/throughput.h"

#include <gtest/gtest.h>

#include "fake_driver.h"
#include "harness/drivers/null_driver.h"

namespace polyarch {
namespace {

using testing::FakeLayer;

TEST(ThroughputTest, ClosedLoopCountsEveryContainerAndLeavesNone) {
  auto stack = std::make_shared<testing::FakeStack>();
  FakeLayer layer(stack);
  ThroughputConfig c;
  c.containers = 30;
  c.concurrency = 4;
  c.warmup = 2;
  c.id_prefix = "tp-";
  c.arches = {HostArch()};
  ThroughputMeasurement m = MeasureThroughput(layer, c, {});
  EXPECT_EQ(m.started, 30);
  EXPECT_EQ(m.errors, 0);
  EXPECT_GT(m.starts_per_s, 0);
  ASSERT_TRUE(m.latency_ms.count("end_to_end"));
  EXPECT_EQ(m.latency_ms["end_to_end"].count, 30);
  EXPECT_TRUE(stack->boxes.empty()) << "every cycle deletes its container";
  auto j = MeasurementJson(m);
  EXPECT_EQ(j["concurrency"], 4);
  EXPECT_TRUE(j["latency"].contains("create"));
}

TEST(ThroughputTest, TheRunCycleTimesOneCallPerContainerAndLeavesNone) {
  auto stack = std::make_shared<testing::FakeStack>();
  FakeLayer layer(stack);
  ThroughputConfig c;
  c.path = CyclePath::kRun;
  c.containers = 12;
  c.concurrency = 3;
  c.id_prefix = "tp-";
  c.arches = {HostArch()};
  ThroughputMeasurement m = MeasureThroughput(layer, c, {});
  EXPECT_EQ(m.started, 12);
  EXPECT_EQ(m.errors, 0);
  ASSERT_TRUE(m.latency_ms.count("run"));
  EXPECT_EQ(m.latency_ms["run"].count, 12);
  EXPECT_EQ(m.latency_ms["end_to_end"].count, 12);
  EXPECT_FALSE(m.latency_ms.count("create")) << "one call: no per-verb figures to report";
  EXPECT_TRUE(stack->boxes.empty());
  auto j = MeasurementJson(m);
  EXPECT_EQ(j["path"], "run");
}

TEST(ThroughputTest, AFailedRunIsAFailedCycleWithItsReason) {
  auto stack = std::make_shared<testing::FakeStack>();
  stack->lies.insert(testing::Lie::kStartFails);
  FakeLayer layer(stack);
  ThroughputConfig c;
  c.path = CyclePath::kRun;
  c.containers = 5;
  c.id_prefix = "tp-";
  c.arches = {HostArch()};
  ThroughputMeasurement m = MeasureThroughput(layer, c, {});
  EXPECT_EQ(m.started, 0);
  ASSERT_FALSE(m.first_errors.empty());
  EXPECT_NE(m.first_errors[0].find("validation: run: exec: no such file"), std::string::npos)
      << m.first_errors[0];
  EXPECT_TRUE(stack->boxes.empty());
}

TEST(ThroughputTest, TheCycleIsTheLayersSingleCallRunUnlessOneIsChosen) {
  Capabilities one_call, four_verbs;
  one_call.single_call_run = true;
  EXPECT_EQ(CyclePathFor(one_call, std::nullopt), CyclePath::kRun);
  EXPECT_EQ(CyclePathFor(four_verbs, std::nullopt), CyclePath::kLifecycle);
  EXPECT_EQ(CyclePathFor(one_call, CyclePath::kLifecycle), CyclePath::kLifecycle);
  EXPECT_EQ(CyclePathFor(four_verbs, CyclePath::kRun), CyclePath::kRun);
  EXPECT_EQ(ParseCyclePath("auto").value(), std::nullopt);
  EXPECT_EQ(ParseCyclePath("run").value(), CyclePath::kRun);
  EXPECT_EQ(ParseCyclePath("lifecycle").value(), CyclePath::kLifecycle);
  EXPECT_EQ(ParseCyclePath("fast").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(CyclePathName(CyclePath::kRun), "run");
  EXPECT_EQ(CyclePathName(CyclePath::kLifecycle), "lifecycle");
}

// Each row and case says which cycle it measured: run for a layer that has it in one call.
TEST(ThroughputTest, EveryRowSaysWhichCycleItMeasured) {
  auto one_call = std::make_shared<testing::FakeStack>();
  one_call->caps.single_call_run = true;
  auto four_verbs = std::make_shared<testing::FakeStack>();
  FakeLayer a(one_call), b(four_verbs);
  ThroughputRunConfig c;
  c.containers = 4;
  c.concurrency = {1};
  c.warmup = 0;
  c.id_prefix = "tp-";
  std::vector<CaseResult> cases;
  c.on_result = [&](CaseResult r) { cases.push_back(std::move(r)); };
  ThroughputSections out = RunThroughputSuite(c, {{"one", &a, ""}, {"four", &b, ""}}, {HostArch()});
  ASSERT_EQ(out.rows.size(), 2u);
  EXPECT_EQ(out.rows[0]["path"], "run");
  EXPECT_TRUE(out.rows[0]["latency"].contains("run"));
  EXPECT_EQ(out.rows[1]["path"], "lifecycle");
  EXPECT_TRUE(out.rows[1]["latency"].contains("create"));
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_NE(cases[0].spec_ref.find("run to exit"), std::string::npos) << cases[0].spec_ref;
  EXPECT_NE(cases[1].spec_ref.find("create, start, wait, delete"), std::string::npos);
  EXPECT_EQ(cases[0].status, CaseStatus::kPass) << cases[0].reason;

  c.path = CyclePath::kLifecycle;  // chosen: every layer measured on the four verbs
  out = RunThroughputSuite(c, {{"one", &a, ""}}, {HostArch()});
  ASSERT_EQ(out.rows.size(), 1u);
  EXPECT_EQ(out.rows[0]["path"], "lifecycle");
}

TEST(ThroughputTest, AFailingValidationStopsBeforeTiming) {
  auto stack = std::make_shared<testing::FakeStack>();
  stack->lies.insert(testing::Lie::kExitCodeOffByOne);  // the probe "exits 1"
  FakeLayer layer(stack);
  ThroughputConfig c;
  c.containers = 10;
  c.id_prefix = "tp-";
  c.arches = {HostArch()};
  ThroughputMeasurement m = MeasureThroughput(layer, c, {});
  EXPECT_EQ(m.started, 0);
  EXPECT_EQ(m.errors, 1);
  ASSERT_FALSE(m.first_errors.empty());
  EXPECT_NE(m.first_errors[0].find("validation"), std::string::npos);
  EXPECT_TRUE(stack->boxes.empty());
}

TEST(ThroughputTest, ScalingIsRelativeToOneInFlight) {
  ThroughputMeasurement one, four;
  one.concurrency = 1;
  one.started = 10;
  one.starts_per_s = 10;
  one.latency_ms["end_to_end"].p50 = 100;
  four.concurrency = 4;
  four.started = 10;
  four.starts_per_s = 20;
  four.latency_ms["end_to_end"].p99 = 400;
  auto s = ComputeScaling({one, four});
  ASSERT_EQ(s.size(), 2u);
  EXPECT_DOUBLE_EQ(s[0].efficiency, 1.0);
  EXPECT_DOUBLE_EQ(s[1].efficiency, 0.5);
  EXPECT_DOUBLE_EQ(s[1].p99_over_p50_at_1, 4.0);
}

TEST(ThroughputTest, CalibrationMeasuresFloorAndCeiling) {
  Calibration c = Calibrate(50);
  EXPECT_GT(c.raw_spawn_per_s, 0);
  EXPECT_GT(c.polyarch_spawn_per_s, 0);
  EXPECT_GT(c.null_cycles_per_s, c.raw_spawn_per_s) << "the null driver spawns nothing";
}

}  // namespace
}  // namespace polyarch
