// The command line as users meet it: help everywhere, exit codes as documented.
#include <gtest/gtest.h>

#include "cli_runner.h"

namespace polyarch {
namespace {

using testing::RunPolyarch;

TEST(CliIntegrationTest, EverySubcommandExplainsItself) {
  for (std::vector<std::string> args : {std::vector<std::string>{"--help"},
                                        {"doctor", "--help"},
                                        {"binfmt", "--help"},
                                        {"binfmt", "install", "--help"},
                                        {"binfmt", "status", "--help"},
                                        {"binfmt", "uninstall", "--help"},
                                        {"binfmt", "export", "--help"}}) {
    auto r = RunPolyarch(args);
    EXPECT_EQ(r.exit_code, 0) << args[0];
    EXPECT_GT(r.out.Text().size(), 100u) << args[0] << ": " << r.out.Text();
  }
  auto top = RunPolyarch({"--help"});
  EXPECT_NE(top.out.Text().find("Exit codes"), std::string::npos);
}

TEST(CliIntegrationTest, UsageErrorsExitTwo) {
  EXPECT_EQ(RunPolyarch({}).exit_code, 2);
  EXPECT_EQ(RunPolyarch({"no-such-command"}).exit_code, 2);
  EXPECT_EQ(RunPolyarch({"binfmt"}).exit_code, 2);
  EXPECT_EQ(RunPolyarch({"binfmt", "export"}).exit_code, 2);  // --dir is required
  EXPECT_EQ(RunPolyarch({"doctor", "--arch", "vax"}).exit_code, 2);
  auto v = RunPolyarch({"--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out.Text().rfind("polyarch ", 0), 0u);
}

}  // namespace
}  // namespace polyarch
