// report.json read back (ReportFromJson): the input of `polyarch compare` and of `run
// --baseline`, a file users keep and edit, parsed with nlohmann's non-throwing parser as
// LoadReportFile does.
//
// Invariants: a refusal says why; an accepted report written again (ReportToJson) is
// accepted, and reading and writing it once more changes nothing; the written report
// serializes the way the JSON reporter writes it.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz/fuzz_util.h"
#include "harness/report/json_reporter.h"
#include "harness/report/result.h"

using nlohmann::json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const json j = json::parse(polyarch_fuzz::AsString(data, size), nullptr,
                             /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;

  auto read = polyarch::ReportFromJson(j);
  if (!read.ok()) {
    FUZZ_CHECK(!read.status().message().empty(), "a report refused without a reason");
    return 0;
  }
  const polyarch::RunReport& report = *read;
  (void)polyarch::Summarize(report.cases);
  for (const auto& c : report.cases) (void)c.Id();

  const json written = polyarch::ReportToJson(report);
  auto again = polyarch::ReportFromJson(written);
  FUZZ_CHECK(again.ok(), "a report polyarch wrote is refused: " + again.status().message());
  const json rewritten = polyarch::ReportToJson(*again);
  FUZZ_CHECK(rewritten == written,
             "reading a written report back changed it:\n" +
                 written.dump(-1, ' ', false, json::error_handler_t::replace) + "\n" +
                 rewritten.dump(-1, ' ', false, json::error_handler_t::replace));
  for (const auto& c : written["cases"]) {
    auto one = polyarch::CaseFromJson(c);
    FUZZ_CHECK(one.ok(), "a written case is refused: " + one.status().message());
  }
  (void)polyarch::FormatJsonReport(report);
  return 0;
}
