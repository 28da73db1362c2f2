#include "harness/drivers/null_driver.h"

#include <gtest/gtest.h>

namespace polyarch {
namespace {

TEST(NullDriverTest, KeepsTheBookkeepingOfARealLayer) {
  NullLayer layer;
  auto d = layer.NewDriver();
  ContainerSpec s;
  s.id = "n1";
  ASSERT_TRUE(d->Create(s).ok());
  EXPECT_FALSE(d->Create(s).ok());
  EXPECT_EQ(d->State("n1").state, ContainerState::kCreated);
  ASSERT_TRUE(d->Start("n1").ok());
  EXPECT_FALSE(d->Start("n1").ok()) << "start twice";
  WaitResult w = d->Wait("n1", std::chrono::seconds(1));
  EXPECT_TRUE(w.exited);
  EXPECT_EQ(w.exit_code, 0);
  EXPECT_EQ(d->List().ids, std::vector<std::string>{"n1"});
  ASSERT_TRUE(d->Delete("n1", false).ok());
  EXPECT_EQ(d->State("n1").state, ContainerState::kNotFound);
  EXPECT_TRUE(d->List().ids.empty());
  EXPECT_TRUE(layer.Cleanup().ok());
}

}  // namespace
}  // namespace polyarch
