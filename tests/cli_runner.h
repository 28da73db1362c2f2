// Runs the built polyarch binary the way a user would, for integration tests.
#ifndef POLYARCH_TESTS_CLI_RUNNER_H_
#define POLYARCH_TESTS_CLI_RUNNER_H_

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/core/subprocess.h"
#include "tests/build_paths.h"

namespace polyarch::testing {

inline ProcessResult RunPolyarch(std::vector<std::string> args,
                                 std::chrono::seconds timeout = std::chrono::seconds(300)) {
  args.insert(args.begin(), kPolyarchBinary);
  SpawnOptions o;
  o.argv = std::move(args);
  o.capture_head_bytes = 4 << 20;
  auto r = RunProcess(o, timeout);
  if (!r.ok()) {
    ProcessResult failed;
    failed.err.head = r.status().ToString();
    return failed;
  }
  return *r;
}

// Parses stdout as JSON; a discarded value when it is not.
inline nlohmann::json StdoutJson(const ProcessResult& r) {
  return nlohmann::json::parse(r.out.Text(), nullptr, /*allow_exceptions=*/false);
}

}  // namespace polyarch::testing

#endif  // POLYARCH_TESTS_CLI_RUNNER_H_
