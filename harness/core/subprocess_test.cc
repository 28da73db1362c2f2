#include "harness/core/subprocess.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <set>

#include <gtest/gtest.h>

namespace polyarch {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

Result<ProcessResult> Sh(const std::string& script, milliseconds timeout = seconds(20)) {
  return RunProcess({"/bin/sh", "-c", script}, timeout);
}

TEST(SubprocessTest, ExitCodesAndOutputAreSeparated) {
  auto r = Sh("echo out; echo err >&2; exit 3");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->exited);
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->out.Text(), "out\n");
  EXPECT_EQ(r->err.Text(), "err\n");
  EXPECT_FALSE(r->success());
  EXPECT_EQ(r->Describe(), "exit 3");
}

TEST(SubprocessTest, MissingProgramIsNotFoundNotACrash) {
  auto r = RunProcess({"/nonexistent/polyarch-no-such-program"}, seconds(5));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  auto p = RunProcess({"polyarch-no-such-program-in-path"}, seconds(5));
  EXPECT_EQ(p.status().code(), Code::kNotFound);
}

TEST(SubprocessTest, StdinIsDevNull) {
  auto r = Sh("cat; echo done");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out.Text(), "done\n");
}

TEST(SubprocessTest, EnvironmentAndWorkingDirectoryAreApplied) {
  SpawnOptions o;
  o.argv = {"/bin/sh", "-c", "echo $POLYARCH_T; pwd"};
  o.env = std::vector<std::string>{"POLYARCH_T=value", "PATH=/usr/bin:/bin"};
  o.cwd = "/";
  auto r = RunProcess(o, seconds(10));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out.Text(), "value\n/\n");
}

TEST(SubprocessTest, DeadlineSendsTermToTheWholeGroup) {
  auto start = std::chrono::steady_clock::now();
  auto r = Sh("sleep 30 & sleep 30; echo never", milliseconds(300));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_FALSE(r->escalated);
  EXPECT_EQ(r->signal, SIGTERM);
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(10));
}

TEST(SubprocessTest, IgnoredTermEscalatesToKill) {
  SpawnOptions o;
  o.argv = {"/bin/sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"};
  o.kill_grace = milliseconds(200);
  auto r = RunProcess(o, milliseconds(300));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_TRUE(r->escalated);
  EXPECT_EQ(r->signal, SIGKILL);
  EXPECT_EQ(r->ShellStatus(), 137);
  EXPECT_EQ(r->out.Text(), "ready\n");
}

TEST(SubprocessTest, StopTerminatesALongRunningChild) {
  SpawnOptions o;
  o.argv = {"/bin/sh", "-c", "exec sleep 60"};
  auto p = Subprocess::Start(o);
  ASSERT_TRUE(p.ok());
  const ProcessResult& r = (*p)->Stop(seconds(5));
  EXPECT_FALSE(r.exited);
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_TRUE((*p)->reaped());
}

TEST(SubprocessTest, FloodIsBoundedAndCounted) {
  SpawnOptions o;
  o.argv = {"/bin/sh", "-c", "head -c 20000000 /dev/zero | tr '\\0' 'x'; echo; echo tail-line"};
  o.capture_head_bytes = 1024;
  o.capture_tail_bytes = 1024;
  auto r = RunProcess(o, seconds(60));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out.total_bytes, 20000000u + 1 + 10);
  EXPECT_EQ(r->out.head.size(), 1024u);
  EXPECT_EQ(r->out.tail.size(), 1024u);
  EXPECT_EQ(r->out.dropped_bytes, 20000011u - 2048u);
  EXPECT_EQ(r->out.tail.substr(r->out.tail.size() - 10), "tail-line\n");
}

TEST(SubprocessTest, GrandchildHoldingThePipeDoesNotHangTheWait) {
  auto start = std::chrono::steady_clock::now();
  // The background sleep inherits stdout and outlives the shell.
  auto r = Sh("sleep 5 & echo parent-done");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->exited);
  EXPECT_EQ(r->out.Text(), "parent-done\n");
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(3));
}

TEST(SubprocessTest, ChildInheritsOnlyStandardDescriptors) {
  // A descriptor opened without O_CLOEXEC must still not reach the child.
  int leaky = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(leaky, 0);
  auto r = RunProcess({"/bin/ls", "/proc/self/fd"}, seconds(10));
  ::close(leaky);
  ASSERT_TRUE(r.ok());
  std::set<std::string> fds;
  std::string text = r->out.Text();
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    fds.insert(text.substr(start, end - start));
    start = end + 1;
  }
  // 0-2, plus the directory ls itself opened to list /proc/self/fd.
  EXPECT_TRUE(fds.count("0") && fds.count("1") && fds.count("2"));
  EXPECT_LE(fds.size(), 4u) << "leaked descriptors: " << text;
}

TEST(SubprocessTest, NoDescriptorLeaksAcrossManySpawns) {
  auto count_fds = [] {
    int n = 0;
    DIR* d = ::opendir("/proc/self/fd");
    while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
    ::closedir(d);
    return n;
  };
  int before = count_fds();
  for (int i = 0; i < 1000; ++i) {
    auto r = RunProcess({"/bin/true"}, seconds(10));
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(r->success());
  }
  EXPECT_EQ(count_fds(), before);
}

TEST(SubprocessTest, OwnProcessGroup) {
  auto r = Sh("ps -o pgid= -p $$; echo $$");
  ASSERT_TRUE(r.ok());
  std::string text = r->out.Text();
  auto nl = text.find('\n');
  std::string pgid = text.substr(0, nl);
  pgid.erase(0, pgid.find_first_not_of(' '));
  std::string pid = text.substr(nl + 1);
  pid.pop_back();
  EXPECT_EQ(pgid, pid);
  EXPECT_NE(pgid, std::to_string(::getpgrp()));
}

TEST(SubprocessTest, AnIgnoredSignalIsNotInheritedAsIgnored) {
  // polyarch ignores SIGPIPE for itself; a child writing to a closed pipe must still die of it.
  struct sigaction ign {
  }, old{};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ign, &old);
  auto r = RunProcess({"/bin/sh", "-c", "grep SigIgn /proc/self/status"}, seconds(10));
  ::sigaction(SIGPIPE, &old, nullptr);
  ASSERT_TRUE(r.ok());
  std::string line = r->out.Text();
  auto hex = line.substr(line.find(':') + 1);
  unsigned long long mask = std::stoull(hex, nullptr, 16);
  EXPECT_EQ(mask & (1ull << (SIGPIPE - 1)), 0u) << line;
}

TEST(SubprocessTest, QuoteArgvIsReadable) {
  EXPECT_EQ(QuoteArgv({"runc", "--root", "/run/x", "a b", "it's"}),
            "runc --root /run/x 'a b' 'it'\\''s'");
}

TEST(SubprocessTest, FindProgramSearchesPath) {
  auto sh = FindProgram("sh");
  ASSERT_TRUE(sh.ok());
  EXPECT_EQ(sh->front(), '/');
  EXPECT_EQ(FindProgram("polyarch-no-such-tool").status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace polyarch
