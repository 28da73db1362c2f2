// `polyarch compare` over reports read back: the input is one report (compared with itself
// and with an empty report, both ways) or a JSON array [baseline, current] of two.
//
// Invariants: a report never regresses against itself, strict or not; whatever is compared,
// the table and the JSON document are produced and the JSON serializes; a comparison is
// refused only with InvalidArgument.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz/fuzz_util.h"
#include "harness/compare/compare.h"
#include "harness/report/result.h"

namespace {

using nlohmann::json;
using polyarch::CompareOptions;
using polyarch::RunReport;

void Compare(const RunReport& baseline, const RunReport& current, const CompareOptions& o,
             bool must_not_regress) {
  auto result = polyarch::CompareReports(baseline, current, o);
  if (!result.ok()) {
    FUZZ_CHECK(result.status().code() == polyarch::Code::kInvalidArgument,
               result.status().ToString());
    return;
  }
  (void)polyarch::FormatCompareTable(*result);
  (void)polyarch::CompareJson(*result).dump(2, ' ', false, json::error_handler_t::replace);
  if (must_not_regress) {
    FUZZ_CHECK(!result->HasRegression(),
               "a report regresses against itself:\n" + polyarch::FormatCompareTable(*result));
  }
}

void CompareAllWays(const RunReport& a, const RunReport& b, bool same) {
  const RunReport empty;
  for (bool strict : {false, true}) {
    CompareOptions o;
    o.strict = strict;
    o.metrics = polyarch::AllMetrics();
    Compare(a, b, o, same);
    Compare(a, empty, o, false);
    Compare(empty, a, o, false);
  }
}

bool Read(const json& j, RunReport* r) {
  auto read = polyarch::ReportFromJson(j);
  if (read.ok()) *r = std::move(read).value();
  return read.ok();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const json j = json::parse(polyarch_fuzz::AsString(data, size), nullptr,
                             /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  RunReport a, b;
  if (j.is_array() && j.size() == 2) {
    if (Read(j[0], &a) && Read(j[1], &b)) {
      CompareAllWays(a, b, false);
      CompareAllWays(a, a, true);
    }
    return 0;
  }
  if (Read(j, &a)) CompareAllWays(a, a, true);
  return 0;
}
