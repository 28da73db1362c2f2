#include "harness/drivers/driver.h"

namespace polyarch {

std::string_view ContainerStateName(ContainerState s) {
  switch (s) {
    case ContainerState::kUnknown:
      return "unknown";
    case ContainerState::kCreating:
      return "creating";
    case ContainerState::kCreated:
      return "created";
    case ContainerState::kRunning:
      return "running";
    case ContainerState::kPaused:
      return "paused";
    case ContainerState::kStopped:
      return "stopped";
    case ContainerState::kNotFound:
      return "not_found";
  }
  return "unknown";
}

WaitResult Driver::Run(const ContainerSpec& spec, std::chrono::milliseconds timeout) {
  return TimedStep<WaitResult>(std::string(layer_name()) + " run (create, start, wait, delete)",
                               [&](WaitResult& r) {
                                 StepResult step = Create(spec);
                                 if (!step.ok()) {
                                   r.status = step.status;
                                   r.output = step.output;
                                   return;
                                 }
                                 step = Start(spec.id);
                                 if (step.ok()) {
                                   WaitResult w = Wait(spec.id, timeout);
                                   r.status = w.status;
                                   r.exited = w.exited;
                                   r.exit_code = w.exit_code;
                                 } else {
                                   r.status = step.status;
                                   r.output = step.output;
                                 }
                                 // Always removed: forced when it did not run to its end.
                                 const bool force = !r.ok() || !r.exited;
                                 StepResult del = Delete(spec.id, force);
                                 if (r.ok() && !del.ok()) r.status = del.status;
                               });
}

}  // namespace polyarch
