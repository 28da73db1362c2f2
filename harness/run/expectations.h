// Known deviations of the stack under test, as expectations: a file lists cases that are known
// to fail (a runtime that departs from the OCI runtime spec), each with a reason and the
// evidence. A listed case that fails is reported as xfail, visible everywhere and not failing
// the run; a listed case that passes is xpass: the entry is stale, and --strict fails the run.
// A failure no entry lists fails the run as always.
//
// The file (JSON):
//   {"version": 1,
//    "expectations": [{"cases": "spec/*/*/process_rlimits_*", "layers": ["crun"],
//                      "arches": ["s390x"], "reason": "...", "reference": "..."}]}
//
// `polyarch run` applies the set the binary carries (suites/expectations.json, embedded at
// build time) and then each --expectations FILE, in that order; the first entry that matches a
// case gives its reason.
#ifndef POLYARCH_HARNESS_RUN_EXPECTATIONS_H_
#define POLYARCH_HARNESS_RUN_EXPECTATIONS_H_

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/core/status.h"
#include "harness/report/result.h"

namespace polyarch {

struct Expectation {
  // A glob over the case id without its repeat, "suite/layer/arch/name":
  // "spec/*/*/process_rlimits_*". '*' matches any run of characters but '/', '**' matches
  // anything, '?' one character but '/'.
  std::string cases;
  std::vector<std::string> layers;  // empty: every layer; entries may be globs
  std::vector<std::string> arches;  // empty: every arch; entries may be globs
  std::string reason;               // required: what the stack does instead
  std::string reference;            // required: the evidence, a public URL or a spec section
  std::string source;               // "FILE:entry N" (N from 1), for messages; set by the parser
};

// Where entries came from, in the order they are applied.
struct ExpectationsFile {
  std::string path;  // as given; "suites/expectations.json" for the built-in set
  bool builtin = false;
  int entries = 0;
};

struct Expectations {
  std::vector<Expectation> entries;
  std::vector<ExpectationsFile> files;
};

// Parses an expectations file. Unknown keys, a missing or empty reason or reference, a bad
// glob, a layer or arch polyarch does not know (when it is a plain name, not a glob) are
// InvalidArgument naming the file, the entry and the key ("x.json:entry 2: unknown key
// 'reson' (known: ...)"): a typo must not silently match nothing. Plain arch names are
// stored canonical ("arm64" becomes "aarch64"), as case ids name them.
Result<Expectations> ParseExpectations(std::string_view text, std::string_view source_name);
// The same for a file; one that cannot be read is InvalidArgument naming it.
Result<Expectations> LoadExpectations(const std::string& path);

// The set the binary carries: suites/expectations.json as it was at build time.
std::string_view BuiltinExpectationsText();
inline constexpr char kBuiltinExpectationsName[] = "suites/expectations.json";

// What a run applies: the built-in set unless `builtin` is false, then each file in order.
Result<Expectations> LoadRunExpectations(bool builtin, const std::vector<std::string>& paths);

// The glob match of Expectation::cases (and of its layers and arches, which hold no '/').
bool ExpectationGlobMatch(std::string_view pattern, std::string_view text);

// Whether `e` covers the case: its id without repeat, its layer, its arch.
bool Covers(const Expectation& e, const CaseResult& c);

// The first entry that covers the case; nullptr when none does.
const Expectation* FindExpectation(const Expectations& e, const CaseResult& c);

// Turns one finished case as `entry` says: kFail becomes kXfail ("known deviation: <reason>
// [<reference>] (<source>); observed: <the case's reason>"), kPass becomes kXpass (the reason
// says it passed although <source> lists it: the entry is stale). Other statuses (skip, error,
// aborted, and xfail or xpass already) stay as they are.
void ApplyExpectation(const Expectation& entry, CaseResult* c);

struct ExpectationsApplied {
  // The source of each entry of a given file (not the built-in set) that covers no case.
  std::vector<std::string> unused;
  int xfail = 0, xpass = 0;        // cases covered by an entry that are xfail / xpass after it
  std::vector<std::string> stale;  // "<case id> (<source>)" of each of those xpass cases
};

// Applies the entries to a run's finished cases in place (ApplyExpectation with the first
// entry that covers each case) and reports on them. A case already xfail or xpass stays so and
// is counted, so applying twice changes nothing and reports the same.
ExpectationsApplied ApplyExpectations(const Expectations& e, std::vector<CaseResult>* cases);

// sections.expectations of the report: {"files": [{path, builtin, entries}], "unused":
// [{source, cases}], "xfail": N, "xpass": N}.
nlohmann::json ExpectationsSection(const Expectations& e, const ExpectationsApplied& applied);

// "<source> (<cases>)" for each unused entry, for messages.
std::vector<std::string> DescribeUnused(const Expectations& e, const ExpectationsApplied& applied);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_RUN_EXPECTATIONS_H_
