// Expectations files (`polyarch run --expectations FILE`, suites/expectations.json): JSON text,
// as LoadExpectations reads it.
//
// Invariants: an error is InvalidArgument and names the file; every accepted entry has a
// cases glob, a reason and a reference that say something, and a source naming the file and
// its place; the entries written back as a file parse to the same entries; matching and
// applying them to cases never throws, and applying twice changes nothing.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz/fuzz_util.h"
#include "harness/run/expectations.h"

namespace {

using nlohmann::json;
using polyarch::CaseResult;
using polyarch::CaseStatus;
using polyarch::Expectation;

json AsFile(const polyarch::Expectations& e) {
  json entries = json::array();
  for (const Expectation& x : e.entries) {
    entries.push_back({{"cases", x.cases},
                       {"layers", x.layers},
                       {"arches", x.arches},
                       {"reason", x.reason},
                       {"reference", x.reference}});
  }
  return {{"version", 1}, {"expectations", entries}};
}

bool Same(const Expectation& a, const Expectation& b) {
  return a.cases == b.cases && a.layers == b.layers && a.arches == b.arches &&
         a.reason == b.reason && a.reference == b.reference;
}

CaseResult Sample(const std::string& id, CaseStatus status) {
  CaseResult c;
  c.suite = id.substr(0, id.find('/'));
  c.layer = "runc";
  c.arch = "s390x";
  c.name = id.substr(id.rfind('/') + 1);
  c.status = status;
  c.reason = "observed";
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = polyarch_fuzz::AsString(data, size);
  auto parsed = polyarch::ParseExpectations(text, "fuzz.json");
  if (!parsed.ok()) {
    const std::string& m = parsed.status().message();
    FUZZ_CHECK(parsed.status().code() == polyarch::Code::kInvalidArgument, m);
    FUZZ_CHECK(m.rfind("fuzz.json", 0) == 0, "the error does not name the file: " + m);
    return 0;
  }
  const polyarch::Expectations& e = *parsed;
  for (size_t i = 0; i < e.entries.size(); ++i) {
    const Expectation& x = e.entries[i];
    FUZZ_CHECK(!x.cases.empty() && !x.reason.empty() && !x.reference.empty(),
               "an entry lacks what it needs: " + x.source);
    FUZZ_CHECK(x.source == "fuzz.json:entry " + std::to_string(i + 1), x.source);
  }

  const std::string again_text = AsFile(e).dump(-1, ' ', false, json::error_handler_t::strict);
  auto again = polyarch::ParseExpectations(again_text, "again.json");
  FUZZ_CHECK(again.ok(), "the entries written back are refused: " + again.status().message() +
                             "\n" + again_text);
  FUZZ_CHECK(again->entries.size() == e.entries.size(), again_text);
  for (size_t i = 0; i < e.entries.size(); ++i) {
    FUZZ_CHECK(Same(again->entries[i], e.entries[i]),
               "entry " + std::to_string(i + 1) + " parses differently:\n" + again_text);
  }

  std::vector<CaseResult> cases;
  for (CaseStatus s : {CaseStatus::kPass, CaseStatus::kFail, CaseStatus::kSkip}) {
    cases.push_back(Sample("spec/runc/s390x/process_rlimits_nofile", s));
    cases.push_back(Sample("lifecycle/runc/s390x/kill_term_exits_143", s));
  }
  for (const Expectation& x : e.entries) {
    (void)polyarch::ExpectationGlobMatch(x.cases, text.substr(0, 200));
  }
  auto applied = polyarch::ApplyExpectations(e, &cases);
  const std::vector<CaseResult> once = cases;
  auto twice = polyarch::ApplyExpectations(e, &cases);
  for (size_t i = 0; i < cases.size(); ++i) {
    FUZZ_CHECK(cases[i].status == once[i].status && cases[i].reason == once[i].reason,
               "applying twice changed " + cases[i].Id());
  }
  FUZZ_CHECK(applied.unused == twice.unused && applied.xfail == twice.xfail &&
                 applied.xpass == twice.xpass,
             "applying twice reports differently");
  (void)polyarch::ExpectationsSection(e, applied)
      .dump(-1, ' ', false, json::error_handler_t::replace);
  return 0;
}
