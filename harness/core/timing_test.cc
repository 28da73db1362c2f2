#include "harness/core/timing.h"

#include <thread>

#include <gtest/gtest.h>

namespace polyarch {
namespace {

TEST(TimingTest, Rfc3339IsUtc) {
  EXPECT_EQ(Rfc3339Utc(std::chrono::system_clock::time_point{}), "1970-01-01T00:00:00Z");
  EXPECT_EQ(Rfc3339Utc(std::chrono::system_clock::from_time_t(86400 + 3661)),
            "1970-01-02T01:01:01Z");
  EXPECT_EQ(UtcNow().size(), 20u);
}

TEST(TimingTest, RemainingStaysWithinItsBounds) {
  using std::chrono::milliseconds;
  auto now = std::chrono::steady_clock::now();
  EXPECT_EQ(Remaining(now - milliseconds(500), milliseconds(50), milliseconds(1000)),
            milliseconds(50));
  EXPECT_EQ(Remaining(now + std::chrono::hours(1), milliseconds(50), milliseconds(1000)),
            milliseconds(1000));
  auto mid = Remaining(now + milliseconds(400), milliseconds(50), milliseconds(1000));
  EXPECT_GT(mid, milliseconds(300));
  EXPECT_LE(mid, milliseconds(400));
}

TEST(TimingTest, NanosSinceCountsForward) {
  auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_GE(NanosSince(start), 2'000'000);
}

}  // namespace
}  // namespace polyarch
