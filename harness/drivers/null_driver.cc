#include "harness/drivers/null_driver.h"

#include <chrono>

namespace polyarch {
namespace {}  // namespace

class NullDriver : public Driver {
 public:
  explicit NullDriver(NullLayer* layer) : layer_(layer) {}
  std::string_view layer_name() const override { return "null"; }
  Capabilities capabilities() const override { return layer_->capabilities(); }

  StepResult Create(const ContainerSpec& spec) override {
    return Step("create", spec.id, [&](auto& m) -> Status {
      if (!m.emplace(spec.id, ContainerState::kCreated).second) {
        return AlreadyExists("container " + spec.id + " exists");
      }
      return Status::Ok();
    });
  }
  StepResult Start(const std::string& id) override {
    return Transition("start", id, ContainerState::kCreated, ContainerState::kStopped);
  }
  StepResult Pause(const std::string& id) override {
    return Transition("pause", id, ContainerState::kRunning, ContainerState::kPaused);
  }
  StepResult Resume(const std::string& id) override {
    return Transition("resume", id, ContainerState::kPaused, ContainerState::kRunning);
  }
  StepResult Kill(const std::string& id, int) override {
    return Transition("kill", id, ContainerState::kRunning, ContainerState::kStopped);
  }
  StateResult State(const std::string& id) override {
    return TimedStep<StateResult>("null state", [&](StateResult& r) {
      std::lock_guard<std::mutex> lock(layer_->mu_);
      auto it = layer_->containers_.find(id);
      r.state = it == layer_->containers_.end() ? ContainerState::kNotFound : it->second;
    });
  }
  ExecResult Exec(const std::string& id, const std::vector<std::string>&,
                  std::chrono::milliseconds) override {
    ExecResult r;
    static_cast<StepResult&>(r) =
        Transition("exec", id, ContainerState::kRunning, ContainerState::kRunning);
    if (r.ok()) r.exit_code = 0;
    return r;
  }
  WaitResult Wait(const std::string& id, std::chrono::milliseconds) override {
    WaitResult r;
    static_cast<StepResult&>(r) = Step("wait", id, [&](auto& m) -> Status {
      auto it = m.find(id);
      if (it == m.end()) return NotFound("no container " + id);
      it->second = ContainerState::kStopped;
      return Status::Ok();
    });
    if (r.ok()) {
      r.exited = true;
      r.exit_code = 0;
    }
    return r;
  }
  StepResult Delete(const std::string& id, bool force) override {
    return Step("delete", id, [&](auto& m) -> Status {
      auto it = m.find(id);
      if (it == m.end()) return NotFound("no container " + id);
      if (!force &&
          (it->second == ContainerState::kRunning || it->second == ContainerState::kPaused)) {
        return FailedPrecondition("container " + id + " is running");
      }
      m.erase(it);
      return Status::Ok();
    });
  }
  ListResult List() override {
    return TimedStep<ListResult>("null list", [&](ListResult& r) {
      std::lock_guard<std::mutex> lock(layer_->mu_);
      for (const auto& [id, state] : layer_->containers_) r.ids.push_back(id);
    });
  }

 private:
  template <typename F>
  StepResult Step(const char* verb, const std::string&, F&& f) {
    return TimedStep<StepResult>(std::string("null ") + verb, [&](StepResult&) {
      std::lock_guard<std::mutex> lock(layer_->mu_);
      return f(layer_->containers_);
    });
  }
  // The probe a throughput run starts exits at once: "start" leaves it stopped.
  StepResult Transition(const char* verb, const std::string& id, ContainerState from,
                        ContainerState to) {
    return Step(verb, id, [&](auto& m) -> Status {
      auto it = m.find(id);
      if (it == m.end()) return NotFound("no container " + id);
      if (it->second != from) {
        return FailedPrecondition(std::string("cannot ") + verb + " container " + id +
                                  " in state " + std::string(ContainerStateName(it->second)));
      }
      it->second = to;
      return Status::Ok();
    });
  }

  NullLayer* layer_;
};

Capabilities NullLayer::capabilities() const {
  Capabilities c;
  c.pause = c.exec = c.kill = c.wait_exit_code = c.created_state = true;
  return c;
}

std::unique_ptr<Driver> NullLayer::NewDriver() { return std::make_unique<NullDriver>(this); }

Status NullLayer::Cleanup() {
  std::lock_guard<std::mutex> lock(mu_);
  containers_.clear();
  return Status::Ok();
}

}  // namespace polyarch
