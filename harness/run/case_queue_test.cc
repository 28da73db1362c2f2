#include "harness/run/case_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace polyarch {
namespace {

bool Never() { return false; }

TEST(CaseQueueTest, HandsOutEveryCaseOnceInPlanOrder) {
  CaseQueue q({{"amd64"}, {"s390x"}, {"amd64"}});
  for (size_t want : {0u, 1u, 2u}) {
    auto i = q.Next(Never);
    ASSERT_TRUE(i.has_value());
    EXPECT_EQ(*i, want);
  }
  EXPECT_FALSE(q.Next(Never).has_value());
}

// A lone case waits for its arch's running cases; meanwhile other arches' cases go on, and no
// new case of its arch starts before it.
TEST(CaseQueueTest, ALoneCaseWaitsOnlyForItsOwnArch) {
  CaseQueue q({{"amd64"}, {"amd64", true}, {"amd64"}, {"s390x"}, {"s390x"}});
  EXPECT_EQ(q.Next(Never), 0u);  // amd64 running
  EXPECT_EQ(q.Next(Never), 3u);  // the lone amd64 case waits; amd64's next is held behind it
  EXPECT_EQ(q.Next(Never), 4u);
  q.Done(0);
  EXPECT_EQ(q.Next(Never), 1u);  // amd64 is idle now
  q.Done(3);
  q.Done(4);
  // While it runs, nothing of amd64 starts.
  std::atomic<bool> got{false};
  std::thread t([&] {
    auto i = q.Next(Never, std::chrono::milliseconds(5));
    got = i.has_value() && *i == 2;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(got.load()) << "a case started beside the lone case of its arch";
  q.Done(1);
  t.join();
  EXPECT_TRUE(got.load());
  q.Done(2);
  EXPECT_FALSE(q.Next(Never).has_value());
}

TEST(CaseQueueTest, TwoLoneCasesNeverRunTogether) {
  CaseQueue q({{"amd64", true}, {"s390x", true}, {"arm"}});
  EXPECT_EQ(q.Next(Never), 0u);
  EXPECT_EQ(q.Next(Never), 2u) << "the other lone case waits; other work goes on";
  q.Done(0);
  EXPECT_EQ(q.Next(Never), 1u);
}

TEST(CaseQueueTest, AStopEndsTheWaitAndTheHandingOut) {
  CaseQueue q({{"amd64", true}, {"amd64"}});
  EXPECT_EQ(q.Next(Never), 0u);
  std::atomic<bool> stop{false};
  std::thread t([&] {
    EXPECT_FALSE(q.Next([&] { return stop.load(); }, std::chrono::milliseconds(5)).has_value());
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  stop = true;
  t.join();
}

}  // namespace
}  // namespace polyarch
