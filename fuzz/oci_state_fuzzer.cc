// What an OCI runtime prints: `runc/crun state <id>` (the runtime-spec state JSON) and
// `list --format json`. The runtime under test may print anything; the driver must turn it
// into a state or a clear error.
//
// Invariants: an accepted state has a known status and a pid in the kernel's range; an
// accepted list holds at most one id per element of the JSON array.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz/fuzz_util.h"
#include "harness/drivers/oci_runtime.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input = polyarch_fuzz::AsString(data, size);

  auto state = polyarch::ParseOciState(input);
  if (state.ok()) {
    FUZZ_CHECK(state->state != polyarch::ContainerState::kUnknown, "accepted an unknown status");
    FUZZ_CHECK(state->pid >= 0 && state->pid <= (1 << 30), "pid " + std::to_string(state->pid));
  } else {
    FUZZ_CHECK(state.status().code() == polyarch::Code::kInvalidArgument,
               state.status().ToString());
  }

  auto list = polyarch::ParseOciList(input);
  if (list.ok()) {
    auto j = nlohmann::json::parse(input, nullptr, /*allow_exceptions=*/false);
    FUZZ_CHECK(j.is_null() || j.is_array(), "accepted a list that is not a JSON array");
    FUZZ_CHECK(list->size() <= (j.is_array() ? j.size() : 0), "more ids than containers");
  }
  return 0;
}
