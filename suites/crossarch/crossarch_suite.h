// The cross-architecture suite: the same probe and the same busybox workload through every
// layer × arch, compared with the native run on this host; emulated start latency and probe
// run time against native (reported, not gated); and the binfmt flag behaviour users meet
// (F: no emulator needed in the image; P: what argv[0] the program sees).
#ifndef POLYARCH_SUITES_CROSSARCH_CROSSARCH_SUITE_H_
#define POLYARCH_SUITES_CROSSARCH_CROSSARCH_SUITE_H_

#include <nlohmann/json.hpp>

#include "images/builder.h"
#include "suites/suite.h"

namespace polyarch {

// The busybox shell workload (sh -c); the expected output is the native image's own.
extern const char kCrossArchWorkload[];

// What the native run on this host produced, computed once at the start of a run by running
// the native image's probe and busybox directly (so it is derived, never hard-coded).
struct NativeGolden {
  nlohmann::json probe_info;  // the probe's info record
  std::string workload_output;
  std::string error;  // why there is no golden record, when there is none
};
NativeGolden ComputeNativeGolden(const ImageSet& images);

class CrossArchSuite : public Suite {
 public:
  CrossArchSuite(NativeGolden golden, const ImageSet* images)
      : golden_(std::move(golden)), images_(images) {}
  std::string_view name() const override { return "crossarch"; }
  std::vector<CaseDef> Cases() const override;

 private:
  NativeGolden golden_;
  const ImageSet* images_;
};

}  // namespace polyarch

#endif  // POLYARCH_SUITES_CROSSARCH_CROSSARCH_SUITE_H_
