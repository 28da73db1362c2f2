#include "harness/core/capture.h"

#include <gtest/gtest.h>

namespace polyarch {
namespace {

TEST(CaptureTest, SmallOutputIsKeptWhole) {
  BoundedCapture c(8, 8);
  c.Append("hello ");
  c.Append("world");
  CapturedOutput out = c.Finish();
  EXPECT_TRUE(out.complete());
  EXPECT_EQ(out.Text(), "hello world");
  EXPECT_EQ(out.total_bytes, 11u);
}

TEST(CaptureTest, KeepsHeadAndTailAndCountsTheRest) {
  BoundedCapture c(4, 4);
  for (int i = 0; i < 1000; ++i) c.Append("0123456789");
  c.Append("END!");
  CapturedOutput out = c.Finish();
  EXPECT_EQ(out.head, "0123");
  EXPECT_EQ(out.tail, "END!");
  EXPECT_EQ(out.total_bytes, 10004u);
  EXPECT_EQ(out.dropped_bytes, 10004u - 8u);
  EXPECT_NE(out.Text().find("[... 9996 bytes dropped ...]"), std::string::npos);
}

TEST(CaptureTest, ChunkLargerThanTailKeepsItsEnd) {
  BoundedCapture c(2, 3);
  c.Append("abcdefghij");
  CapturedOutput out = c.Finish();
  EXPECT_EQ(out.head, "ab");
  EXPECT_EQ(out.tail, "hij");
  EXPECT_EQ(out.dropped_bytes, 5u);
}

TEST(CaptureTest, MemoryStaysBoundedUnderManySmallWrites) {
  BoundedCapture c(16, 16);
  for (int i = 0; i < 100000; ++i) c.Append("x");
  CapturedOutput out = c.Finish();
  EXPECT_EQ(out.head.size(), 16u);
  EXPECT_EQ(out.tail.size(), 16u);
  EXPECT_EQ(out.total_bytes, 100000u);
}

}  // namespace
}  // namespace polyarch
