// An in-memory container stack that behaves like a correct runtime running the probe, for
// testing suites without the real stack; each `Lie` makes it break one promise, so a test
// can show the suite notices.
#ifndef POLYARCH_TESTS_FAKE_DRIVER_H_
#define POLYARCH_TESTS_FAKE_DRIVER_H_

#include <signal.h>

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "harness/drivers/driver.h"

namespace polyarch::testing {

enum class Lie {
  kRunningWhenCreated,     // State says running for a created container
  kExitCodeOffByOne,       // Wait reports code + 1
  kDeleteRunningSucceeds,  // plain delete of a running container works
  kStartTwiceSucceeds,
  kExecIgnoresArgs,     // exec output is empty
  kListForgetsNothing,  // deleted containers stay in List
  kKillIgnored,         // kill does nothing
  kStoppedSaysRunning,  // State says running for a container whose process has exited
  kStartFails,          // start refuses every container
};

class FakeStack {
 public:
  struct Box {
    ContainerState state = ContainerState::kCreated;
    std::vector<std::string> argv;
    int exit_code = -1;
    std::map<std::string, std::string> files;
  };
  std::mutex mu;
  std::map<std::string, Box> boxes;
  std::set<std::string> deleted;
  std::set<Lie> lies;
  Capabilities caps = [] {
    Capabilities c;
    c.pause = c.exec = c.kill = c.wait_exit_code = c.state_pid = c.created_state = true;
    return c;
  }();
  bool Lies(Lie l) const { return lies.count(l) > 0; }
};

class FakeDriver : public Driver {
 public:
  explicit FakeDriver(std::shared_ptr<FakeStack> s) : s_(std::move(s)) {}
  std::string_view layer_name() const override { return "fake"; }
  Capabilities capabilities() const override { return s_->caps; }

  StepResult Create(const ContainerSpec& spec) override {
    std::lock_guard<std::mutex> l(s_->mu);
    if (s_->boxes.count(spec.id)) return Err(AlreadyExists("id in use"));
    FakeStack::Box b;
    b.argv = spec.argv;
    s_->boxes[spec.id] = b;
    s_->deleted.erase(spec.id);
    return {};
  }
  StepResult Start(const std::string& id) override {
    std::lock_guard<std::mutex> l(s_->mu);
    auto* b = Find(id);
    if (!b) return Err(NotFound("no such container"));
    if (s_->Lies(Lie::kStartFails)) return Err(FailedPrecondition("exec: no such file"));
    if (b->state != ContainerState::kCreated && !s_->Lies(Lie::kStartTwiceSucceeds)) {
      return Err(FailedPrecondition("not created"));
    }
    b->state = ContainerState::kRunning;
    const auto& a = b->argv;
    if (a.size() >= 3 && a[1] == "exit") Exit(*b, std::stoi(a[2]));
    if (a.size() >= 3 && a[1] == "mark") b->files[a[2]] = "1\n";
    return {};
  }
  StateResult State(const std::string& id) override {
    std::lock_guard<std::mutex> l(s_->mu);
    StateResult r;
    auto* b = Find(id);
    if (!b) {
      r.state = ContainerState::kNotFound;
      return r;
    }
    r.state = b->state;
    if (b->state == ContainerState::kCreated && s_->Lies(Lie::kRunningWhenCreated)) {
      r.state = ContainerState::kRunning;
    }
    if (b->state == ContainerState::kStopped && s_->Lies(Lie::kStoppedSaysRunning)) {
      r.state = ContainerState::kRunning;
    }
    r.pid = b->state == ContainerState::kStopped ? 0 : 4242;
    return r;
  }
  StepResult Pause(const std::string& id) override {
    return Move(id, ContainerState::kRunning, ContainerState::kPaused);
  }
  StepResult Resume(const std::string& id) override {
    return Move(id, ContainerState::kPaused, ContainerState::kRunning);
  }
  ExecResult Exec(const std::string& id, const std::vector<std::string>& argv,
                  std::chrono::milliseconds) override {
    std::lock_guard<std::mutex> l(s_->mu);
    ExecResult r;
    auto* b = Find(id);
    if (!b || b->state != ContainerState::kRunning) {
      r.status = FailedPrecondition("cannot exec: not running");
      return r;
    }
    // The image holds the probe and a shell; nothing else can be started.
    static const std::set<std::string> kPrograms = {"/probe", "probe", "/bin/sh", "/bin/busybox"};
    if (argv.empty() || !kPrograms.count(argv[0])) {
      r.status = FailedPrecondition("exec: no such file or directory");
      return r;
    }
    r.exit_code = 0;
    if (argv.size() >= 2 && argv[1] == "echo-args" && !s_->Lies(Lie::kExecIgnoresArgs)) {
      for (size_t i = 2; i < argv.size(); ++i) r.out += argv[i] + "\n";
    } else if (argv.size() >= 3 && argv[1] == "exit") {
      r.exit_code = std::stoi(argv[2]);
    } else if (argv.size() >= 3 && argv[1] == "cat") {
      auto f = b->files.find(argv[2]);
      if (f == b->files.end())
        r.exit_code = 1;
      else
        r.out = f->second;
    }
    return r;
  }
  StepResult Kill(const std::string& id, int sig) override {
    std::lock_guard<std::mutex> l(s_->mu);
    auto* b = Find(id);
    if (!b) return Err(NotFound("no such container"));
    if (b->state != ContainerState::kRunning && b->state != ContainerState::kCreated) {
      return Err(FailedPrecondition("neither created nor running"));
    }
    if (s_->Lies(Lie::kKillIgnored)) return {};
    bool traps = b->argv.size() >= 2 && b->argv[1] == "trap-term";
    if (sig == SIGKILL || !traps) Exit(*b, 128 + sig);
    return {};
  }
  WaitResult Wait(const std::string& id, std::chrono::milliseconds) override {
    std::lock_guard<std::mutex> l(s_->mu);
    WaitResult r;
    auto* b = Find(id);
    if (!b) {
      r.status = NotFound("no such container");
      return r;
    }
    if (b->state != ContainerState::kStopped) return r;  // still running at the deadline
    r.exited = true;
    r.exit_code = b->exit_code + (s_->Lies(Lie::kExitCodeOffByOne) ? 1 : 0);
    return r;
  }
  StepResult Delete(const std::string& id, bool force) override {
    std::lock_guard<std::mutex> l(s_->mu);
    auto* b = Find(id);
    if (!b) return Err(NotFound("no such container"));
    bool live = b->state != ContainerState::kStopped;  // created is not stopped either
    if (live && !force && !s_->Lies(Lie::kDeleteRunningSucceeds)) {
      return Err(FailedPrecondition("cannot delete a running container"));
    }
    s_->boxes.erase(id);
    if (s_->Lies(Lie::kListForgetsNothing)) s_->deleted.insert(id);
    return {};
  }
  ListResult List() override {
    std::lock_guard<std::mutex> l(s_->mu);
    ListResult r;
    for (const auto& [id, b] : s_->boxes) r.ids.push_back(id);
    for (const auto& id : s_->deleted) r.ids.push_back(id);
    return r;
  }

 private:
  static StepResult Err(Status s) {
    StepResult r;
    r.status = std::move(s);
    return r;
  }
  FakeStack::Box* Find(const std::string& id) {
    auto it = s_->boxes.find(id);
    return it == s_->boxes.end() ? nullptr : &it->second;
  }
  static void Exit(FakeStack::Box& b, int code) {
    b.state = ContainerState::kStopped;
    b.exit_code = code;
  }
  StepResult Move(const std::string& id, ContainerState from, ContainerState to) {
    std::lock_guard<std::mutex> l(s_->mu);
    auto* b = Find(id);
    if (!b) return Err(NotFound("no such container"));
    if (b->state != from) return Err(FailedPrecondition("wrong state"));
    b->state = to;
    return {};
  }

  std::shared_ptr<FakeStack> s_;
};

// A layer over the fake stack: every driver it makes shares the stack.
class FakeLayer : public Layer {
 public:
  explicit FakeLayer(std::shared_ptr<FakeStack> s) : s_(std::move(s)) {}
  std::string_view name() const override { return "fake"; }
  Capabilities capabilities() const override { return s_->caps; }
  nlohmann::json Context() const override { return {}; }
  Status Supports(const ArchInfo&) const override { return Status::Ok(); }
  std::unique_ptr<Driver> NewDriver() override { return std::make_unique<FakeDriver>(s_); }
  Status Cleanup() override { return Status::Ok(); }

 private:
  std::shared_ptr<FakeStack> s_;
};

}  // namespace polyarch::testing

#endif  // POLYARCH_TESTS_FAKE_DRIVER_H_
