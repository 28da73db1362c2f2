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

}  // namespace polyarch
