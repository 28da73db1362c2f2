#include "suites/throughput/throughput.h"

#include <gtest/gtest.h>

#include "fake_driver.h"
#include "harness/drivers/null_driver.h"

namespace polyarch {
namespace {

class FakeLayer : public Layer {
 public:
  explicit FakeLayer(std::shared_ptr<testing::FakeStack> s) : s_(std::move(s)) {}
  std::string_view name() const override { return "fake"; }
  Capabilities capabilities() const override { return s_->caps; }
  nlohmann::json Context() const override { return {}; }
  Status Supports(const ArchInfo&) const override { return Status::Ok(); }
  std::unique_ptr<Driver> NewDriver() override { return std::make_unique<testing::FakeDriver>(s_); }
  Status Cleanup() override { return Status::Ok(); }

 private:
  std::shared_ptr<testing::FakeStack> s_;
};

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
