#include "harness/run/expectations.h"

#include <gtest/gtest.h>

#include "harness/core/fs.h"
#include "tests/build_paths.h"

namespace polyarch {
namespace {

using nlohmann::json;

CaseResult Finished(const std::string& id, CaseStatus status, const std::string& reason = "",
                    int repeat = 0) {
  CaseResult c;
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t slash = id.find('/'); parts.size() < 3; slash = id.find('/', start)) {
    parts.push_back(id.substr(start, slash - start));
    start = slash + 1;
  }
  c.suite = parts[0];
  c.layer = parts[1];
  c.arch = parts[2];
  c.name = id.substr(start);
  c.status = status;
  c.reason = reason;
  c.repeat = repeat;
  return c;
}

Expectations MustParse(const std::string& text) {
  auto e = ParseExpectations(text, "known.json");
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? *e : Expectations{};
}

std::string Entries(const std::string& entries) {
  return R"({"version": 1, "expectations": [)" + entries + "]}";
}

TEST(ExpectationsTest, AFileGivesItsEntriesInOrderWithTheirSources) {
  Expectations e = MustParse(Entries(R"(
      {"cases": "spec/*/*/process_rlimits_*", "reason": "rlimits not applied",
       "reference": "https://github.com/opencontainers/runtime-spec/blob/main/config.md#posix-process"},
      {"cases": "lifecycle/**", "layers": ["crun", "contain*"], "arches": ["arm64", "s390?", "mixed"],
       "reason": "r", "reference": "OCI runtime-spec runtime.md#kill"})"));
  ASSERT_EQ(e.entries.size(), 2u);
  EXPECT_EQ(e.entries[0].cases, "spec/*/*/process_rlimits_*");
  EXPECT_TRUE(e.entries[0].layers.empty());
  EXPECT_EQ(e.entries[0].source, "known.json:entry 1");
  EXPECT_EQ(e.entries[1].source, "known.json:entry 2");
  EXPECT_EQ(e.entries[1].layers, (std::vector<std::string>{"crun", "contain*"}));
  // A plain arch name is stored as case ids name it.
  EXPECT_EQ(e.entries[1].arches, (std::vector<std::string>{"aarch64", "s390?", "mixed"}));
  ASSERT_EQ(e.files.size(), 1u);
  EXPECT_EQ(e.files[0].path, "known.json");
  EXPECT_EQ(e.files[0].entries, 2);
  EXPECT_FALSE(e.files[0].builtin);
  EXPECT_TRUE(MustParse(R"({"version": 1, "expectations": []})").entries.empty());
}

struct BadExpectations {
  const char* text;
  const char* expect;  // a substring of the message
};

class BadExpectationsTest : public ::testing::TestWithParam<BadExpectations> {};

TEST_P(BadExpectationsTest, RefusedNamingFileEntryAndKey) {
  auto e = ParseExpectations(GetParam().text, "known.json");
  ASSERT_FALSE(e.ok()) << GetParam().text;
  EXPECT_EQ(e.status().code(), Code::kInvalidArgument);
  EXPECT_NE(e.status().message().find(GetParam().expect), std::string::npos)
      << e.status().message();
  EXPECT_EQ(e.status().message().rfind("known.json", 0), 0u) << e.status().message();
}

#define ENTRY(x)                                                            \
  R"({"version": 1, "expectations": [{"cases": "a/b/c/d", "reason": "r", )" \
  R"("reference": "ref"}, )" x "]}"

INSTANTIATE_TEST_SUITE_P(
    EveryMistake, BadExpectationsTest,
    ::testing::Values(
        BadExpectations{"", "known.json: the expectations file is empty"},
        BadExpectations{"  \n", "the expectations file is empty"},
        BadExpectations{"{\"version\": 1,\n \"expectations\": [}", "known.json:2: not valid JSON"},
        BadExpectations{"[]", "known.json: an expectations file is an object"},
        BadExpectations{R"({"version": 1e999, "expectations": []})",
                        "known.json: not valid JSON: number overflow"},
        BadExpectations{R"({"expectations": []})", "known.json: field 'version' is missing"},
        BadExpectations{R"({"version": 2, "expectations": []})", "version 2 is not one"},
        BadExpectations{R"({"version": 1})", "known.json: field 'expectations' is missing"},
        BadExpectations{R"({"version": 1, "expectations": [], "entries": []})",
                        "known.json: unknown key 'entries' (known: version, expectations)"},
        BadExpectations{ENTRY(R"({"cases": "a/b/c/d", "reson": "r", "reference": "x"})"),
                        "known.json:entry 2: unknown key 'reson' (known: cases, layers"},
        BadExpectations{ENTRY(R"({"cases": "a/b/c/d", "reference": "x"})"),
                        "known.json:entry 2: field 'reason' is missing"},
        BadExpectations{ENTRY(R"({"cases": "a/b/c/d", "reason": " ", "reference": "x"})"),
                        "known.json:entry 2: field 'reason' is empty"},
        BadExpectations{ENTRY(R"({"cases": "a/b/c/d", "reason": "r"})"),
                        "known.json:entry 2: field 'reference' is missing"},
        BadExpectations{ENTRY(R"({"cases": "a/b/c/d", "reason": "r", "reference": 7})"),
                        "field 'reference' is a number (7), expected a string"},
        BadExpectations{ENTRY(R"({"reason": "r", "reference": "x"})"),
                        "known.json:entry 2: field 'cases' is missing"},
        BadExpectations{ENTRY(R"({"cases": "a/b/[cd]/d", "reason": "r", "reference": "x"})"),
                        "entry 2: field 'cases' 'a/b/[cd]/d' holds '['"},
        BadExpectations{ENTRY(R"({"cases": "process_rlimits_*", "reason": "r", "reference": "x"})"),
                        "has 1 part where a case id has four"},
        BadExpectations{ENTRY(R"({"cases": "a//c/d", "reason": "r", "reference": "x"})"),
                        "has an empty part"},
        BadExpectations{ENTRY(R"({"cases": "a/***/d", "reason": "r", "reference": "x"})"),
                        "holds '***'"},
        BadExpectations{ENTRY(R"({"cases": "", "reason": "r", "reference": "x"})"),
                        "field 'cases' '' is empty"},
        BadExpectations{
            ENTRY(R"({"cases": "a/b/c/d", "layers": ["runc", "podman"], "reason": "r", )"
                  R"("reference": "x"})"),
            "entry 2: field 'layers' item 2: unknown layer 'podman'"},
        BadExpectations{
            ENTRY(R"({"cases": "a/b/c/d", "layers": "runc", "reason": "r", "reference": "x"})"),
            "field 'layers' is a string (\"runc\"), expected an array"},
        BadExpectations{
            ENTRY(R"({"cases": "a/b/c/d", "arches": ["sparc9"], "reason": "r", "reference": "x"})"),
            "entry 2: field 'arches' item 1: unknown architecture 'sparc9'"},
        BadExpectations{
            ENTRY(
                R"({"cases": "a/b/c/d", "arches": ["linux/*"], "reason": "r", "reference": "x"})"),
            "field 'arches' item 1 'linux/*' holds '/'"},
        BadExpectations{
            ENTRY(R"({"cases": "a/b/c/d", "layers": [3], "reason": "r", "reference": "x"})"),
            "field 'layers' item 1 is a number (3), expected a string"},
        BadExpectations{ENTRY(R"("not an entry")"), "known.json:entry 2: an entry is an object"},
        BadExpectations{
            ENTRY(R"({"cases": "a/b/c/d", "reason": "r", "reason": "s", "reference": "x"})"),
            "known.json:entry 2: key 'reason' given twice"},
        BadExpectations{R"({"version": 1, "version": 1, "expectations": []})",
                        "known.json: key 'version' given twice"}));

#undef ENTRY

TEST(ExpectationsTest, GlobsKeepToTheirPartUnlessDoubled) {
  EXPECT_TRUE(
      ExpectationGlobMatch("spec/*/*/process_rlimits_*", "spec/crun/s390x/process_rlimits_nofile"));
  // '*' does not cross '/': the name cannot swallow the arch.
  EXPECT_FALSE(
      ExpectationGlobMatch("spec/*/process_rlimits_*", "spec/crun/s390x/process_rlimits_x"));
  EXPECT_FALSE(ExpectationGlobMatch("spec/*", "spec/crun/s390x/x"));
  EXPECT_TRUE(ExpectationGlobMatch("spec/**", "spec/crun/s390x/x"));
  EXPECT_TRUE(ExpectationGlobMatch("**/kill_*", "lifecycle/runc/amd64/kill_term_exits_143"));
  EXPECT_TRUE(ExpectationGlobMatch("**", ""));
  EXPECT_TRUE(ExpectationGlobMatch("*", ""));
  EXPECT_FALSE(ExpectationGlobMatch("*", "a/b"));
  EXPECT_TRUE(ExpectationGlobMatch("s390?", "s390x"));
  EXPECT_FALSE(ExpectationGlobMatch("a?b", "a/b"));
  EXPECT_FALSE(ExpectationGlobMatch("s390?", "s390"));
  EXPECT_TRUE(ExpectationGlobMatch("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(ExpectationGlobMatch("a*b*c", "aXXbYY"));
  EXPECT_TRUE(ExpectationGlobMatch("exact", "exact"));
  EXPECT_FALSE(ExpectationGlobMatch("exact", "exactly"));
}

TEST(ExpectationsTest, LayersAndArchesNarrowAnEntry) {
  Expectations e = MustParse(Entries(R"(
      {"cases": "spec/*/*/rlimits", "layers": ["crun"], "arches": ["s390x", "arm*"],
       "reason": "r", "reference": "x"})"));
  const Expectation& entry = e.entries[0];
  EXPECT_TRUE(Covers(entry, Finished("spec/crun/s390x/rlimits", CaseStatus::kFail)));
  EXPECT_TRUE(Covers(entry, Finished("spec/crun/armhf/rlimits", CaseStatus::kFail)));
  EXPECT_FALSE(Covers(entry, Finished("spec/runc/s390x/rlimits", CaseStatus::kFail)));
  EXPECT_FALSE(Covers(entry, Finished("spec/crun/amd64/rlimits", CaseStatus::kFail)));
  EXPECT_FALSE(Covers(entry, Finished("spec/crun/s390x/rlimits_2", CaseStatus::kFail)));
  // Repeats are matched by the id without "#N".
  EXPECT_TRUE(Covers(entry, Finished("spec/crun/s390x/rlimits", CaseStatus::kFail, "", 3)));
}

TEST(ExpectationsTest, ApplyingTurnsListedFailuresAndPassesAndNothingElse) {
  Expectations e = MustParse(Entries(R"(
      {"cases": "lifecycle/runc/*/kill_term_exits_143", "reason": "exit status lost",
       "reference": "OCI runtime-spec runtime.md#kill"},
      {"cases": "lifecycle/*/*/kill_term_exits_143", "reason": "second", "reference": "y"},
      {"cases": "lifecycle/*/*/pause_*", "reason": "no freezer", "reference": "z"},
      {"cases": "spec/*/*/*", "reason": "not run here", "reference": "w"})"));
  std::vector<CaseResult> cases = {
      Finished("lifecycle/runc/s390x/kill_term_exits_143", CaseStatus::kFail, "exit 0, want 143"),
      Finished("lifecycle/runc/amd64/kill_term_exits_143", CaseStatus::kPass),
      Finished("lifecycle/runc/amd64/kill_term_exits_143", CaseStatus::kPass, "", 1),
      Finished("lifecycle/crun/amd64/exit_code_42", CaseStatus::kFail, "exit 0, want 42"),
      Finished("lifecycle/crun/amd64/pause_freezes", CaseStatus::kSkip, "no pause"),
      Finished("lifecycle/crun/s390x/pause_freezes", CaseStatus::kError, "image missing"),
      Finished("lifecycle/crun/s390x/pause_resumes", CaseStatus::kAborted, "daemon died"),
  };
  ExpectationsApplied a = ApplyExpectations(e, &cases);
  EXPECT_EQ(cases[0].status, CaseStatus::kXfail);
  EXPECT_EQ(cases[0].reason,
            "known deviation: exit status lost [OCI runtime-spec runtime.md#kill] "
            "(known.json:entry 1); observed: exit 0, want 143");
  EXPECT_EQ(cases[1].status, CaseStatus::kXpass);
  EXPECT_EQ(cases[1].reason,
            "passed although known.json:entry 1 lists it as a known deviation (exit status lost "
            "[OCI runtime-spec runtime.md#kill]): the entry is stale; remove or narrow it");
  EXPECT_EQ(cases[2].status, CaseStatus::kXpass) << "each repeat is matched the same way";
  EXPECT_EQ(cases[3].status, CaseStatus::kFail) << "a failure no entry lists fails as always";
  EXPECT_EQ(cases[3].reason, "exit 0, want 42");
  EXPECT_EQ(cases[4].status, CaseStatus::kSkip);
  EXPECT_EQ(cases[4].reason, "no pause");
  EXPECT_EQ(cases[5].status, CaseStatus::kError);
  EXPECT_EQ(cases[6].status, CaseStatus::kAborted);
  EXPECT_EQ(a.xfail, 1);
  EXPECT_EQ(a.xpass, 2);
  EXPECT_EQ(a.stale, (std::vector<std::string>{
                         "lifecycle/runc/amd64/kill_term_exits_143 (known.json:entry 1)",
                         "lifecycle/runc/amd64/kill_term_exits_143#2 (known.json:entry 1)"}));
  // Entry 2 is shadowed by entry 1 but covers the same cases: used. Entry 3 covers only a
  // skip and an error: used, not stale. Entry 4 covers nothing in this run.
  EXPECT_EQ(a.unused, std::vector<std::string>{"known.json:entry 4"});
  EXPECT_EQ(DescribeUnused(e, a), std::vector<std::string>{"known.json:entry 4 (spec/*/*/*)"});

  // Applying again changes nothing and says the same.
  const std::vector<CaseResult> once = cases;
  ExpectationsApplied again = ApplyExpectations(e, &cases);
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(cases[i].status, once[i].status) << i;
    EXPECT_EQ(cases[i].reason, once[i].reason) << i;
  }
  EXPECT_EQ(again.xfail, a.xfail);
  EXPECT_EQ(again.xpass, a.xpass);
  EXPECT_EQ(again.stale, a.stale);
  EXPECT_EQ(again.unused, a.unused);

  json section = ExpectationsSection(e, a);
  EXPECT_EQ(section,
            json({{"files", {{{"path", "known.json"}, {"builtin", false}, {"entries", 4}}}},
                  {"unused", {{{"source", "known.json:entry 4"}, {"cases", "spec/*/*/*"}}}},
                  {"xfail", 1},
                  {"xpass", 2}}));
}

TEST(ExpectationsTest, OneCaseAtATimeAsARunAddsThem) {
  Expectations e = MustParse(Entries(R"({"cases": "a/*/*/d", "reason": "r", "reference": "x"})"));
  CaseResult c = Finished("a/runc/amd64/d", CaseStatus::kFail, "boom");
  const Expectation* entry = FindExpectation(e, c);
  ASSERT_NE(entry, nullptr);
  ApplyExpectation(*entry, &c);
  EXPECT_EQ(c.status, CaseStatus::kXfail);
  EXPECT_EQ(FindExpectation(e, Finished("a/runc/amd64/e", CaseStatus::kFail)), nullptr);
  EXPECT_EQ(FindExpectation(Expectations{}, c), nullptr);
}

TEST(ExpectationsTest, TheBuiltInSetParsesAndComesFirst) {
  auto builtin = ParseExpectations(BuiltinExpectationsText(), kBuiltinExpectationsName);
  ASSERT_TRUE(builtin.ok()) << "suites/expectations.json: " << builtin.status().ToString();
  // The binary carries the file as it is in the checkout.
  auto file = ReadFile(std::string(testing::kSourceDir) + "/suites/expectations.json");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(BuiltinExpectationsText(), *file);

  auto dir = TempDir::Create("polyarch-expectations-");
  ASSERT_TRUE(dir.ok());
  const std::string mine = dir->path() + "/mine.json";
  ASSERT_TRUE(WriteFileAtomic(mine, Entries(R"({"cases": "a/b/c/d", "reason": "r",
                                                "reference": "x"})"))
                  .ok());
  auto run = LoadRunExpectations(true, {mine});
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  ASSERT_EQ(run->files.size(), 2u);
  EXPECT_EQ(run->files[0].path, "suites/expectations.json");
  EXPECT_TRUE(run->files[0].builtin);
  EXPECT_EQ(run->files[1].path, mine);
  EXPECT_EQ(run->files[1].entries, 1);
  EXPECT_EQ(run->entries.back().source, mine + ":entry 1");
  EXPECT_EQ(static_cast<int>(run->entries.size()), builtin->files[0].entries + 1);

  auto without = LoadRunExpectations(false, {mine});
  ASSERT_TRUE(without.ok());
  EXPECT_EQ(without->files.size(), 1u);
  EXPECT_EQ(without->entries.size(), 1u);

  auto missing = LoadRunExpectations(true, {dir->path() + "/absent.json"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kInvalidArgument);
  EXPECT_NE(missing.status().message().find(dir->path() + "/absent.json"), std::string::npos)
      << missing.status().message();
}

}  // namespace
}  // namespace polyarch
