// Suite files (`polyarch run --suite-file`): YAML or JSON text, as LoadSuiteFile reads it.
//
// Invariants: an error is InvalidArgument and names the file; an accepted plan passes
// ValidatePlan; its JSON (recorded in the report's context) serializes; and the plan written
// back as a suite file parses to the same plan.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz/fuzz_util.h"
#include "harness/run/plan.h"

namespace {

using nlohmann::json;
using polyarch::Plan;

bool Printable(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// Text only YAML and JSON read alike (printable ASCII) can be written back and compared.
bool RoundTrippable(const Plan& p) {
  for (const std::string* s :
       {&p.filter, &p.report_dir, &p.containerd_address, &p.docker_host, &p.baseline}) {
    if (!Printable(*s)) return false;
  }
  for (const auto& [layer, binary] : p.runtime_binaries) {
    if (!Printable(binary)) return false;
  }
  for (const auto& file : p.expectations) {
    if (!Printable(file)) return false;
  }
  return true;
}

// The plan as a suite file, with the file's key names.
json AsSuiteFile(const Plan& p) {
  json arches = json::array();
  for (const auto* a : p.arches) arches.push_back(std::string(a->name));
  return {{"suites", p.suites},
          {"layers", p.layers},
          {"arches", arches},
          {"filter", p.filter},
          {"repeat", p.repeat},
          {"jobs", p.jobs},
          {"strict", p.strict},
          {"keep", p.keep},
          {"report_dir", p.report_dir},
          {"step_timeout_ms", p.step_timeout.count()},
          {"runtimes", p.runtime_binaries},
          {"containerd_address", p.containerd_address},
          {"docker_host", p.docker_host},
          {"baseline", p.baseline},
          {"expectations", p.expectations},
          {"builtin_expectations", p.builtin_expectations},
          {"throughput",
           {{"containers", p.throughput.containers},
            {"concurrency", p.throughput.concurrency},
            {"warmup", p.throughput.warmup},
            {"trials", p.throughput.trials},
            {"duration", static_cast<int64_t>(p.throughput.duration_s)},
            {"mixed_arch", p.throughput.mixed_arch}}}};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = polyarch_fuzz::AsString(data, size);
  auto plan = polyarch::ParseSuiteText(text, "fuzz.yaml");
  if (!plan.ok()) {
    const std::string& m = plan.status().message();
    FUZZ_CHECK(plan.status().code() == polyarch::Code::kInvalidArgument, m);
    FUZZ_CHECK(m.rfind("fuzz.yaml", 0) == 0, "the error does not name the file: " + m);
    return 0;
  }
  FUZZ_CHECK(polyarch::ValidatePlan(*plan).ok(), polyarch::ValidatePlan(*plan).message());
  const json recorded = plan->ToJson();
  (void)recorded.dump(-1, ' ', false, json::error_handler_t::replace);

  if (RoundTrippable(*plan)) {
    const std::string again_text = AsSuiteFile(*plan).dump();
    auto again = polyarch::ParseSuiteText(again_text, "again.json");
    FUZZ_CHECK(again.ok(),
               "the plan written back is refused: " + again.status().message() + "\n" + again_text);
    FUZZ_CHECK(again->ToJson() == recorded && again->keep == plan->keep &&
                   again->report_dir == plan->report_dir && again->baseline == plan->baseline,
               "the plan written back parses differently:\n" + recorded.dump() + "\n" +
                   again->ToJson().dump());
  }
  return 0;
}
