// The null layer: every operation succeeds at once and only bookkeeping happens. Its rate is
// the ceiling of the harness itself (planning, timing, recording), against which real
// layers are read.
#ifndef POLYARCH_HARNESS_DRIVERS_NULL_DRIVER_H_
#define POLYARCH_HARNESS_DRIVERS_NULL_DRIVER_H_

#include <map>
#include <memory>
#include <mutex>

#include "harness/drivers/driver.h"

namespace polyarch {

class NullLayer : public Layer {
 public:
  std::string_view name() const override { return "null"; }
  Capabilities capabilities() const override;
  nlohmann::json Context() const override { return {{"layer", "null"}}; }
  Status Supports(const ArchInfo&) const override { return Status::Ok(); }
  std::unique_ptr<Driver> NewDriver() override;
  Status Cleanup() override;

 private:
  friend class NullDriver;
  std::mutex mu_;
  std::map<std::string, ContainerState> containers_;
};

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_DRIVERS_NULL_DRIVER_H_
