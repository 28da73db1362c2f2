#include "harness/report/json_reporter.h"

namespace polyarch {

std::string FormatJsonReport(const RunReport& report) {
  // The default error handler throws on the first invalid byte, which would lose the whole
  // report because one container printed binary garbage; replace keeps everything else.
  return ReportToJson(report).dump(2, ' ', /*ensure_ascii=*/false,
                                   nlohmann::json::error_handler_t::replace) +
         "\n";
}

}  // namespace polyarch
