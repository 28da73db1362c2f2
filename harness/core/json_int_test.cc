#include "harness/core/json_int.h"

#include <cstdint>
#include <limits>

#include <gtest/gtest.h>

namespace polyarch {
namespace {

using nlohmann::json;

TEST(JsonIntegerTest, ReadsIntegersThatFit) {
  EXPECT_EQ(JsonInteger<int>(json(42)), 42);
  EXPECT_EQ(JsonInteger<int>(json(-7)), -7);
  EXPECT_EQ(JsonInteger<int>(json(std::numeric_limits<int>::max())),
            std::numeric_limits<int>::max());
  EXPECT_EQ(JsonInteger<int>(json(std::numeric_limits<int>::min())),
            std::numeric_limits<int>::min());
  EXPECT_EQ(JsonInteger<int64_t>(json(std::numeric_limits<int64_t>::min())),
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(JsonInteger<uint64_t>(json::parse("18446744073709551615")),
            std::numeric_limits<uint64_t>::max());
}

TEST(JsonIntegerTest, RefusesWhatDoesNotFit) {
  EXPECT_FALSE(JsonInteger<int>(json(int64_t{1} << 31)));
  EXPECT_FALSE(JsonInteger<int>(json(-(int64_t{1} << 31) - 1)));
  EXPECT_FALSE(JsonInteger<int64_t>(json::parse("18446744073709551615")));
  EXPECT_FALSE(JsonInteger<uint32_t>(json(-1)));
  EXPECT_FALSE(JsonInteger<uint64_t>(json(-1)));
}

TEST(JsonIntegerTest, RefusesFloatsAndOtherTypes) {
  EXPECT_FALSE(JsonInteger<int64_t>(json::parse("1.18447e+25")));
  EXPECT_FALSE(JsonInteger<int>(json(2.0)));
  EXPECT_FALSE(JsonInteger<int>(json("2")));
  EXPECT_FALSE(JsonInteger<int>(json(true)));
  EXPECT_FALSE(JsonInteger<int>(json(nullptr)));
  EXPECT_FALSE(JsonInteger<int>(json::array({1})));
}

}  // namespace
}  // namespace polyarch
