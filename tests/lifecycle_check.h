// The lifecycle every driver must take a container through against the real stack, with
// the states and exit codes each step must report. Shared by the driver integration tests.
#ifndef POLYARCH_TESTS_LIFECYCLE_CHECK_H_
#define POLYARCH_TESTS_LIFECYCLE_CHECK_H_

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "harness/drivers/driver.h"

namespace polyarch::testing {

inline std::string Explain(const StepResult& r) {
  return r.operation + ": " + r.status.ToString() + "\n" + r.output.Text();
}

// The state `d` reports for `id` once it is `want`, or after a second of asking. A runtime may
// return from pause while the freezer is still FREEZING (crun 1.8 on cgroup v1 does), so the
// state is allowed to settle, as the lifecycle suite allows it.
inline ContainerState SettledState(Driver& d, const std::string& id, ContainerState want) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  for (;;) {
    StateResult s = d.State(id);
    if ((s.ok() && s.state == want) || std::chrono::steady_clock::now() >= deadline) {
      return s.state;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// What a layer checks besides, at points of the shared lifecycle: where it keeps its state,
// how it refuses an exec into a paused container, what its wait captured.
struct LifecycleHooks {
  std::function<void(const std::string& id, const StepResult& create)> created;
  std::function<void(const std::string& id, int pid)> running;
  std::function<void(const std::string& id)> paused;
  std::function<void(const std::string& id)> resumed;
  std::function<void(const WaitResult& wait)> exited;
  std::function<void(const std::string& id)> deleted;
};

// create → created → start → running (pid alive) → pause → paused → resume → running →
// exec (output, exit code) → kill TERM → wait 143 → stopped → exec refused → delete → not
// found, with the layer's own checks (`hooks`) at each point.
inline void ExpectFullLifecycle(Driver& d, const ArchInfo& arch, const std::string& id,
                                const LifecycleHooks& hooks = {}) {
  SCOPED_TRACE(std::string(d.layer_name()) + " " + std::string(arch.name));
  ContainerSpec spec;
  spec.id = id;
  spec.arch = &arch;
  spec.argv = {"/probe", "sleep", "60"};
  StepResult c = d.Create(spec);
  ASSERT_TRUE(c.ok()) << Explain(c);
  EXPECT_GT(c.duration_ns, 0);
  StateResult s = d.State(id);
  ASSERT_TRUE(s.ok()) << Explain(s);
  EXPECT_EQ(s.state, ContainerState::kCreated);
  if (hooks.created) hooks.created(id, c);
  StepResult st = d.Start(id);
  ASSERT_TRUE(st.ok()) << Explain(st);
  s = d.State(id);
  ASSERT_TRUE(s.ok()) << Explain(s);
  EXPECT_EQ(s.state, ContainerState::kRunning);
  EXPECT_GT(s.pid, 0);
  struct stat proc {};
  EXPECT_EQ(::stat(("/proc/" + std::to_string(s.pid)).c_str(), &proc), 0) << "pid not on host";
  if (hooks.running) hooks.running(id, s.pid);

  StepResult p = d.Pause(id);
  ASSERT_TRUE(p.ok()) << Explain(p);
  EXPECT_EQ(SettledState(d, id, ContainerState::kPaused), ContainerState::kPaused);
  if (hooks.paused) hooks.paused(id);
  StepResult r = d.Resume(id);
  ASSERT_TRUE(r.ok()) << Explain(r);
  EXPECT_EQ(SettledState(d, id, ContainerState::kRunning), ContainerState::kRunning);
  if (hooks.resumed) hooks.resumed(id);

  ExecResult e = d.Exec(id, {"/probe", "echo-args", "hi", "there"}, std::chrono::seconds(60));
  ASSERT_TRUE(e.ok()) << Explain(e);
  EXPECT_EQ(e.exit_code, 0);
  EXPECT_EQ(e.out, "hi\nthere\n");
  ExecResult e3 = d.Exec(id, {"/probe", "exit", "3"}, std::chrono::seconds(60));
  ASSERT_TRUE(e3.ok()) << Explain(e3);
  EXPECT_EQ(e3.exit_code, 3);

  StepResult k = d.Kill(id, SIGTERM);
  ASSERT_TRUE(k.ok()) << Explain(k);
  WaitResult w = d.Wait(id, std::chrono::seconds(60));
  ASSERT_TRUE(w.ok()) << Explain(w);
  EXPECT_TRUE(w.exited);
  EXPECT_EQ(w.exit_code, 143);
  if (hooks.exited) hooks.exited(w);
  EXPECT_EQ(d.State(id).state, ContainerState::kStopped);
  ExecResult dead = d.Exec(id, {"/probe", "exit", "0"}, std::chrono::seconds(30));
  EXPECT_FALSE(dead.ok()) << "exec in a stopped container must fail";

  StepResult del = d.Delete(id, false);
  ASSERT_TRUE(del.ok()) << Explain(del);
  StateResult gone = d.State(id);
  EXPECT_TRUE(gone.ok()) << Explain(gone);
  EXPECT_EQ(gone.state, ContainerState::kNotFound);
  if (hooks.deleted) hooks.deleted(id);
}

// A container whose process exits on its own reports its code; a running one refuses a
// plain delete and takes a forced one.
inline void ExpectExitCodesAndForcedDelete(Driver& d, const ArchInfo& arch, const std::string& id) {
  SCOPED_TRACE(std::string(d.layer_name()) + " " + std::string(arch.name));
  ContainerSpec spec;
  spec.id = id + "-exit";
  spec.arch = &arch;
  spec.argv = {"/probe", "exit", "42"};
  ASSERT_TRUE(d.Create(spec).ok());
  ASSERT_TRUE(d.Start(spec.id).ok());
  WaitResult w = d.Wait(spec.id, std::chrono::seconds(60));
  ASSERT_TRUE(w.ok()) << Explain(w);
  EXPECT_TRUE(w.exited);
  EXPECT_EQ(w.exit_code, 42);
  EXPECT_TRUE(d.Delete(spec.id, false).ok());

  spec.id = id + "-busy";
  spec.argv = {"/probe", "sleep", "60"};
  ASSERT_TRUE(d.Create(spec).ok());
  ASSERT_TRUE(d.Start(spec.id).ok());
  ListResult l = d.List();
  ASSERT_TRUE(l.ok()) << Explain(l);
  EXPECT_NE(std::find(l.ids.begin(), l.ids.end(), spec.id), l.ids.end());
  StepResult plain = d.Delete(spec.id, false);
  EXPECT_FALSE(plain.ok()) << "deleting a running container without force must fail";
  EXPECT_EQ(d.State(spec.id).state, ContainerState::kRunning) << "and leave it running";
  StepResult forced = d.Delete(spec.id, true);
  ASSERT_TRUE(forced.ok()) << Explain(forced);
  EXPECT_EQ(d.State(spec.id).state, ContainerState::kNotFound);
}

// Run takes a container to its exit and leaves nothing of it, whichever way it ends: with an
// exit code, refused before its process started, or stopped at the deadline.
inline void ExpectRunLeavesNothing(Driver& d, const ArchInfo& arch, const std::string& id) {
  SCOPED_TRACE(std::string(d.layer_name()) + " run " + std::string(arch.name));
  auto expect_gone = [&](const std::string& cid) {
    EXPECT_EQ(d.State(cid).state, ContainerState::kNotFound) << cid;
    ListResult l = d.List();
    ASSERT_TRUE(l.ok()) << Explain(l);
    EXPECT_EQ(std::find(l.ids.begin(), l.ids.end(), cid), l.ids.end()) << cid;
  };
  ContainerSpec spec;
  spec.arch = &arch;
  spec.writable_tmp = false;

  spec.id = id + "-run";
  spec.argv = {"/probe", "exit", "42"};
  WaitResult w = d.Run(spec, std::chrono::seconds(60));
  ASSERT_TRUE(w.ok()) << Explain(w);
  EXPECT_TRUE(w.exited);
  EXPECT_EQ(w.exit_code, 42);
  EXPECT_GT(w.duration_ns, 0);
  expect_gone(spec.id);

  spec.id = id + "-run-missing";
  spec.argv = {"/no/such/program"};
  w = d.Run(spec, std::chrono::seconds(60));
  EXPECT_FALSE(w.ok()) << "a process that cannot start is the run's failure, not an exit code";
  EXPECT_FALSE(w.status.message().empty());
  expect_gone(spec.id);

  spec.id = id + "-run-late";
  spec.argv = {"/probe", "sleep", "60"};
  w = d.Run(spec, std::chrono::milliseconds(1500));
  ASSERT_TRUE(w.ok()) << Explain(w);
  EXPECT_FALSE(w.exited) << "the deadline passed first";
  EXPECT_LT(w.duration_ns, int64_t{30'000'000'000}) << "and the run did not wait for the process";
  expect_gone(spec.id);
}

}  // namespace polyarch::testing

#endif  // POLYARCH_TESTS_LIFECYCLE_CHECK_H_
