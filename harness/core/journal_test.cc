#include "harness/core/journal.h"

#include <thread>

#include <gtest/gtest.h>

#include "harness/core/fs.h"

namespace polyarch {
namespace {

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("polyarch-journal-test-");
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(*d));
    path_ = dir_->path() + "/state/journal.jsonl";
  }
  std::unique_ptr<TempDir> dir_;
  std::string path_;
};

TEST_F(JournalTest, AddThenRemoveLeavesNothingLive) {
  auto j = Journal::Open(path_);
  ASSERT_TRUE(j.ok());
  ASSERT_TRUE(j->Add({"binfmt", "polyarch-s390x", {{"arch", "s390x"}}}).ok());
  ASSERT_TRUE(j->Add({"mount", "/run/x", {}}).ok());
  auto live = j->Live();
  ASSERT_TRUE(live.ok());
  ASSERT_EQ(live->size(), 2u);
  EXPECT_EQ((*live)[0].data["arch"], "s390x");
  ASSERT_TRUE(j->Remove("binfmt", "polyarch-s390x").ok());
  auto after = j->Live("binfmt");
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->empty());
  EXPECT_EQ(j->Live("mount")->size(), 1u);
}

TEST_F(JournalTest, RecordsNameTheirRunAndKeepItThroughCompaction) {
  auto j = Journal::Open(path_);
  ASSERT_TRUE(j->Add({"binfmt", "persistent", {}}).ok());
  j->SetRun("r1");
  ASSERT_TRUE(j->Add({"container", "c1", {}}).ok());
  ASSERT_TRUE(j->Compact().ok());
  auto live = j->Live();
  ASSERT_EQ(live->size(), 2u);
  EXPECT_EQ((*live)[0].run, "");
  EXPECT_EQ((*live)[1].run, "r1");
}

// A record of what a reboot ends is written without fsync; another Journal on the same file
// (a `polyarch cleanup` after this process was killed) reads it all the same.
TEST_F(JournalTest, RecordsWithoutFsyncReplayLikeTheOthers) {
  auto j = Journal::Open(path_);
  ASSERT_TRUE(j->Add({"container", "c1", {{"id", "c1"}}, "", /*durable=*/false}).ok());
  ASSERT_TRUE(j->Add({"container", "c2", {{"id", "c2"}}, "", /*durable=*/false}).ok());
  ASSERT_TRUE(j->Remove("container", "c1", /*durable=*/false).ok());
  auto other = Journal::Open(path_);
  auto live = other->Live("container");
  ASSERT_TRUE(live.ok());
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].key, "c2");
  EXPECT_EQ((*live)[0].data["id"], "c2");
}

TEST_F(JournalTest, MissingFileMeansEmpty) {
  auto j = Journal::Open(path_);
  ASSERT_TRUE(j.ok());
  auto live = j->Live();
  ASSERT_TRUE(live.ok());
  EXPECT_TRUE(live->empty());
}

TEST_F(JournalTest, TornLastLineIsSkipped) {
  auto j = Journal::Open(path_);
  ASSERT_TRUE(j->Add({"binfmt", "a", {}}).ok());
  auto text = ReadFile(path_);
  ASSERT_TRUE(text.ok());
  ASSERT_TRUE(WriteFileAtomic(path_, *text + "{\"v\":1,\"op\":\"add\",\"kind\":\"bin").ok());
  auto live = j->Live();
  ASSERT_TRUE(live.ok());
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].key, "a");
}

TEST_F(JournalTest, CompactKeepsOnlyLiveRecords) {
  auto j = Journal::Open(path_);
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(j->Add({"container", "c" + std::to_string(i), {}}).ok());
    if (i % 5) {
      ASSERT_TRUE(j->Remove("container", "c" + std::to_string(i)).ok());
    }
  }
  ASSERT_TRUE(j->Compact().ok());
  auto text = ReadFile(path_);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(std::count(text->begin(), text->end(), '\n'), 10);
  EXPECT_EQ(j->Live()->size(), 10u);
}

TEST_F(JournalTest, ConcurrentAppendsAreAllKept) {
  auto j = Journal::Open(path_);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        (void)j->Add({"container",
                      std::to_string(t) + "-" + std::to_string(i),
                      {{"pad", std::string(200, 'x')}}});
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(j->Live()->size(), 200u);
}

}  // namespace
}  // namespace polyarch
