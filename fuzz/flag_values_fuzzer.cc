// Values of the command-line flags users type: --arch, --flags, --layer, --suite, --metric,
// --max-regression and --filter. The same input goes to every parser.
//
// Invariants: "all" (in any case) is always a valid arch list; an accepted list is
// non-empty, without duplicates, in table order, and its names written back with commas parse
// to the same list; an emulated-arch list never holds the host's own arch; canonical flags
// are a canonical, idempotent subset of "POCF" with C implying O; a threshold is finite and
// not negative.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "binfmt/arch.h"
#include "binfmt/entry.h"
#include "fuzz/fuzz_util.h"
#include "harness/compare/compare.h"
#include "harness/run/plan.h"

namespace {

using polyarch::ArchInfo;
using polyarch::ArchScope;

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

std::string ArchNames(const std::vector<const ArchInfo*>& v) {
  std::string s;
  for (const auto* a : v) s += (s.empty() ? "" : ",") + std::string(a->name);
  return s;
}

void CheckArchList(const std::string& input, ArchScope scope) {
  auto list = polyarch::ParseArchList(input, scope);
  std::string lower = input;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "all") FUZZ_CHECK(list.ok(), "'all' refused: " + list.status().message());
  if (!list.ok()) return;
  const auto table = polyarch::AllArches();
  FUZZ_CHECK(!list->empty() || (lower == "all" && scope == ArchScope::kEmulated),
             "an accepted arch list is empty: '" + input + "'");
  for (size_t i = 0; i < list->size(); ++i) {
    const ArchInfo* a = (*list)[i];
    FUZZ_CHECK(a >= table.data() && a < table.data() + table.size(), "an arch outside the table");
    if (i > 0) FUZZ_CHECK((*list)[i - 1] < a, "arch list not in table order or duplicated");
    if (scope == ArchScope::kEmulated) {
      FUZZ_CHECK(a->has_binfmt() && a != polyarch::HostArch(),
                 "an emulated-arch list holds " + std::string(a->name));
    }
  }
  if (list->empty()) return;
  auto again = polyarch::ParseArchList(ArchNames(*list), scope);
  FUZZ_CHECK(again.ok() && *again == *list,
             "'" + ArchNames(*list) + "' (from '" + input + "') parses differently");
}

void CheckLookup(const std::string& input) {
  auto a = polyarch::LookupArch(input);
  if (!a.ok()) return;
  auto by_name = polyarch::LookupArch(std::string((*a)->name));
  FUZZ_CHECK(by_name.ok() && *by_name == *a, "canonical name of '" + input + "' not found");
  auto list = polyarch::ParseArchList(input, ArchScope::kAll);
  FUZZ_CHECK(list.ok() && list->size() == 1 && (*list)[0] == *a,
             "a known name is not a one-arch list: '" + input + "'");
}

void CheckFlags(const std::string& input) {
  auto flags = polyarch::CanonicalFlags(input);
  if (!flags.ok()) return;
  const std::string& f = *flags;
  size_t pos = 0;
  for (char c : f) {
    size_t at = std::string_view("POCF").find(c, pos);
    FUZZ_CHECK(at != std::string_view::npos, "flags '" + f + "' are not a subset of POCF in order");
    pos = at + 1;
  }
  if (f.find('C') != std::string::npos) {
    FUZZ_CHECK(f.find('O') != std::string::npos, "C without O: '" + f + "'");
  }
  auto again = polyarch::CanonicalFlags(f);
  FUZZ_CHECK(again.ok() && *again == f, "canonical flags '" + f + "' are not a fixed point");
}

void CheckNames(const std::string& input, const std::vector<std::string>& known, const char* what) {
  auto names = polyarch::ParseNameList(input, known, what);
  if (!names.ok()) return;
  FUZZ_CHECK(!names->empty(), std::string("an empty ") + what + " list was accepted");
  for (size_t i = 0; i < names->size(); ++i) {
    const std::string& n = (*names)[i];
    FUZZ_CHECK(std::find(known.begin(), known.end(), n) != known.end(), "unknown name " + n);
    FUZZ_CHECK(std::find(names->begin(), names->begin() + i, n) == names->begin() + i,
               "duplicate name " + n);
  }
  auto again = polyarch::ParseNameList(Join(*names), known, what);
  FUZZ_CHECK(again.ok() && *again == *names, "'" + Join(*names) + "' parses differently");
}

void CheckMetrics(const std::string& input) {
  auto metrics = polyarch::ParseMetricList(input);
  if (!metrics.ok()) return;
  FUZZ_CHECK(!metrics->empty(), "an empty metric list was accepted");
  std::vector<std::string> names;
  for (auto m : *metrics) names.emplace_back(polyarch::MetricName(m));
  auto again = polyarch::ParseMetricList(Join(names));
  FUZZ_CHECK(again.ok() && *again == *metrics, "'" + Join(names) + "' parses differently");
}

void CheckThreshold(const std::string& input) {
  auto t = polyarch::ParseThreshold(input);
  if (!t.ok()) return;
  FUZZ_CHECK(std::isfinite(*t) && *t >= 0, "threshold '" + input + "' gave " + std::to_string(*t));
  if (*t <= 1) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", *t);
    auto again = polyarch::ParseThreshold(buf);
    FUZZ_CHECK(again.ok() && *again == *t, std::string("threshold ") + buf + " reads differently");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input = polyarch_fuzz::AsString(data, size);
  CheckArchList(input, ArchScope::kAll);
  CheckArchList(input, ArchScope::kEmulated);
  CheckLookup(input);
  CheckFlags(input);
  CheckNames(input, polyarch::KnownLayers(), "layer");
  CheckNames(input, polyarch::KnownSuites(), "suite");
  CheckMetrics(input);
  CheckThreshold(input);
  // --filter is a glob over case ids.
  (void)polyarch::GlobMatch(input, "lifecycle/runc/s390x/exit_code_42#2");
  return 0;
}
