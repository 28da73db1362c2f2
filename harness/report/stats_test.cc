#include "harness/report/stats.h"

#include <cmath>

#include <gtest/gtest.h>

namespace polyarch {
namespace {

// Expected values are worked out by hand with the "linear" definition: rank = p/100 * (n-1),
// interpolated between the two closest sorted values.
TEST(StatsTest, PercentilesOfFiveValues) {
  Distribution d = ComputeDistribution({5, 3, 1, 4, 2});
  EXPECT_EQ(d.count, 5);
  EXPECT_DOUBLE_EQ(d.min, 1);
  EXPECT_DOUBLE_EQ(d.max, 5);
  EXPECT_DOUBLE_EQ(d.p50, 3);    // rank 2
  EXPECT_DOUBLE_EQ(d.p90, 4.6);  // rank 3.6: 4 + 0.6 * (5 - 4)
  EXPECT_DOUBLE_EQ(d.p99, 4.96);
  EXPECT_DOUBLE_EQ(d.mean, 3);
  EXPECT_DOUBLE_EQ(d.stddev, std::sqrt(2.5));  // sample: 10 / (5 - 1)
  EXPECT_DOUBLE_EQ(d.cv, std::sqrt(2.5) / 3);
}

TEST(StatsTest, PercentilesInterpolateBetweenUnevenValues) {
  Distribution d = ComputeDistribution({10, 1, 7, 3});  // sorted: 1 3 7 10
  EXPECT_DOUBLE_EQ(d.p50, 5);                           // rank 1.5: 3 + 0.5 * 4
  EXPECT_DOUBLE_EQ(d.p90, 9.1);                         // rank 2.7: 7 + 0.7 * 3
  EXPECT_DOUBLE_EQ(d.p99, 9.91);                        // rank 2.97
  EXPECT_DOUBLE_EQ(d.mean, 5.25);
}

TEST(StatsTest, PercentileEndsAreMinAndMax) {
  std::vector<double> sorted = {2, 4, 8};
  EXPECT_DOUBLE_EQ(Percentile(sorted, 0), 2);
  EXPECT_DOUBLE_EQ(Percentile(sorted, 100), 8);
  EXPECT_DOUBLE_EQ(Percentile(sorted, 25), 3);
  EXPECT_DOUBLE_EQ(Percentile({}, 50), 0);
}

TEST(StatsTest, SingleValueIsEveryPercentileWithNoSpread) {
  Distribution d = ComputeDistribution({42});
  EXPECT_EQ(d.count, 1);
  for (double v : {d.min, d.p50, d.p90, d.p99, d.max, d.mean}) EXPECT_DOUBLE_EQ(v, 42);
  EXPECT_DOUBLE_EQ(d.stddev, 0);
  EXPECT_DOUBLE_EQ(d.cv, 0);
}

TEST(StatsTest, EmptyInputGivesZeroCount) {
  Distribution d = ComputeDistribution({});
  EXPECT_EQ(d.count, 0);
  for (double v : {d.min, d.p50, d.p90, d.p99, d.max, d.mean, d.stddev, d.cv}) {
    EXPECT_DOUBLE_EQ(v, 0);
  }
}

TEST(StatsTest, CvIsZeroWhenMeanIsZero) {
  Distribution d = ComputeDistribution({-1, 1});
  EXPECT_DOUBLE_EQ(d.mean, 0);
  EXPECT_DOUBLE_EQ(d.stddev, std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(d.cv, 0);
}

TEST(StatsTest, CvOfIdenticalValuesIsZeroAndOfSpreadIsRelative) {
  EXPECT_DOUBLE_EQ(ComputeDistribution({7, 7, 7}).cv, 0);
  // Scaling every value scales stddev and mean alike: cv does not change.
  EXPECT_DOUBLE_EQ(ComputeDistribution({1, 2, 3}).cv, ComputeDistribution({10, 20, 30}).cv);
  EXPECT_DOUBLE_EQ(ComputeDistribution({1, 2, 3}).cv, 0.5);  // stddev 1, mean 2
}

TEST(StatsTest, JsonRoundTrips) {
  Distribution d = ComputeDistribution({1.5, 2.5, 9});
  Distribution back;
  ASSERT_TRUE(DistributionFromJson(DistributionJson(d), &back));
  EXPECT_EQ(back.count, d.count);
  EXPECT_DOUBLE_EQ(back.p90, d.p90);
  EXPECT_DOUBLE_EQ(back.cv, d.cv);
  EXPECT_FALSE(DistributionFromJson(nlohmann::json::array(), &back));
  EXPECT_FALSE(DistributionFromJson({{"p50", 1}}, &back));
  // Tolerant of a partial record: what is there is read, the rest stays 0.
  ASSERT_TRUE(DistributionFromJson({{"count", 2}, {"p50", "fast"}, {"max", 3}}, &back));
  EXPECT_EQ(back.count, 2);
  EXPECT_DOUBLE_EQ(back.p50, 0);
  EXPECT_DOUBLE_EQ(back.max, 3);
}

TEST(StatsTest, JsonCountMustBeANonNegativeInteger) {
  Distribution back;
  // A float count out of int64's range once reached get<int64_t>(): undefined behaviour.
  EXPECT_FALSE(DistributionFromJson({{"count", 1.18447e25}}, &back));
  EXPECT_FALSE(DistributionFromJson({{"count", 2.0}}, &back));
  EXPECT_FALSE(DistributionFromJson({{"count", 18446744073709551615ULL}}, &back));
  EXPECT_FALSE(DistributionFromJson({{"count", -1}}, &back));
  EXPECT_FALSE(DistributionFromJson({{"count", "2"}}, &back));
  ASSERT_TRUE(DistributionFromJson({{"count", 0}}, &back));
  EXPECT_EQ(back.count, 0);
}

}  // namespace
}  // namespace polyarch
