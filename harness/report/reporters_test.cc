// Reporters are pinned by golden files: a fixed report goes through every reporter and the
// output must match tests/golden/* byte for byte. After an intended change, regenerate with
//   POLYARCH_UPDATE_GOLDEN=1 build/tests/polyarch_tests --gtest_filter='Golden*'
// and review the diff like code (docs/report.md). The python ctests (report_*) validate the
// same golden files against the JSON Schema and the JUnit XSD.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "harness/core/fs.h"
#include "harness/report/console_reporter.h"
#include "harness/report/html_reporter.h"
#include "harness/report/json_reporter.h"
#include "harness/report/junit_reporter.h"
#include "harness/report/result.h"
#include "harness/report/stats.h"
#include "harness/report/text.h"
#include "harness/report/views.h"
#include "report_fixture.h"
#include "tests/build_paths.h"

namespace polyarch {
namespace {

using nlohmann::json;

using testing::Case;
using testing::Count;
using testing::Dist;
using testing::Fixture;
using testing::kMs;
using testing::kNastyOutput;
using testing::Lifecycle;
using testing::Step;
using testing::ThroughputRow;

// The plain progress lines a CI log gets for the fixture, through the real printer.
std::string ProgressOutput(const RunReport& r, bool tty) {
  char* buf = nullptr;
  size_t len = 0;
  FILE* f = open_memstream(&buf, &len);
  {
    ProgressPrinter p(f, tty, static_cast<int>(r.cases.size()));
    for (const auto& c : r.cases) {
      p.CaseStarted(c.Id());
      p.CaseFinished(c);
    }
    p.Finish();
  }
  std::fclose(f);
  std::string out(buf, len);
  std::free(buf);
  return out;
}

void ExpectGolden(const std::string& name, const std::string& actual) {
  const std::string path = std::string(testing::kSourceDir) + "/tests/golden/" + name;
  const char* update = std::getenv("POLYARCH_UPDATE_GOLDEN");
  if (update && std::string(update) == "1") {
    Status s = WriteFileAtomic(path, actual);
    ASSERT_TRUE(s.ok()) << s.ToString();
    std::printf("rewrote %s\n", path.c_str());
    return;
  }
  auto expected = ReadFile(path);
  ASSERT_TRUE(expected.ok()) << path << ": " << expected.status().ToString()
                             << "; create it with POLYARCH_UPDATE_GOLDEN=1";
  EXPECT_EQ(*expected, actual) << "the output differs from " << path
                               << "; if the change is intended, rerun with "
                                  "POLYARCH_UPDATE_GOLDEN=1 and review the diff";
}

// ---- golden ----------------------------------------------------------------------------

TEST(GoldenReportTest, Json) { ExpectGolden("report.json", FormatJsonReport(Fixture())); }
TEST(GoldenReportTest, JUnit) { ExpectGolden("junit.xml", FormatJUnit(Fixture())); }
TEST(GoldenReportTest, Console) {
  ExpectGolden("console.txt", FormatConsoleSummary(Fixture(), false));
}
TEST(GoldenReportTest, ConsoleColor) {
  ExpectGolden("console_color.txt", FormatConsoleSummary(Fixture(), true));
}
TEST(GoldenReportTest, Html) { ExpectGolden("report.html", FormatHtml(Fixture())); }
TEST(GoldenReportTest, Progress) { ExpectGolden("progress.txt", ProgressOutput(Fixture(), false)); }

TEST(GoldenReportTest, EveryStatusIsInTheFixture) {
  Summary s = Summarize(Fixture().cases);
  EXPECT_GT(s.pass, 0);
  EXPECT_GT(s.fail, 0);
  EXPECT_GT(s.skip, 0);
  EXPECT_GT(s.error, 0);
  EXPECT_GT(s.aborted, 0);
  EXPECT_GT(s.xfail, 0);
  EXPECT_GT(s.xpass, 0);
}

// ---- JSON ------------------------------------------------------------------------------

TEST(JsonReportTest, RoundTripsThroughTheJsonValue) {
  const RunReport r = Fixture();
  auto read = ReportFromJson(ReportToJson(r));
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  const RunReport& back = *read;
  EXPECT_EQ(ReportToJson(back), ReportToJson(r));
  ASSERT_EQ(back.cases.size(), r.cases.size());
  EXPECT_EQ(back.cases[2].Id(), "lifecycle/runc/amd64/exec_runs_in_container#2");
  EXPECT_EQ(back.cases[3].steps[1].output, kNastyOutput);  // bytes kept in memory
  EXPECT_EQ(back.cases[8].status, CaseStatus::kAborted);
  EXPECT_EQ(back.cases[13].status, CaseStatus::kXfail);
  EXPECT_EQ(back.cases[14].status, CaseStatus::kXpass);
  EXPECT_EQ(back.cases[13].reason, r.cases[13].reason);
}

TEST(JsonReportTest, EveryStatusHasANameThatParsesBack) {
  for (CaseStatus s : {CaseStatus::kPass, CaseStatus::kFail, CaseStatus::kSkip, CaseStatus::kError,
                       CaseStatus::kAborted, CaseStatus::kXfail, CaseStatus::kXpass}) {
    CaseStatus back = CaseStatus::kPass;
    ASSERT_TRUE(ParseCaseStatus(CaseStatusName(s), &back)) << CaseStatusName(s);
    EXPECT_EQ(back, s);
  }
  EXPECT_EQ(CaseStatusName(CaseStatus::kXfail), "xfail");
  EXPECT_EQ(CaseStatusName(CaseStatus::kXpass), "xpass");
  CaseStatus unknown = CaseStatus::kPass;
  EXPECT_FALSE(ParseCaseStatus("XFAIL", &unknown));
  json j = ReportToJson(Fixture());
  EXPECT_EQ(j["summary"]["xfail"], 1);
  EXPECT_EQ(j["summary"]["xpass"], 1);
  EXPECT_EQ(j["summary"]["total"], 15);
}

TEST(JsonReportTest, TextIsValidUtf8AndParsesBack) {
  const RunReport r = Fixture();
  const std::string text = FormatJsonReport(r);
  EXPECT_TRUE(IsValidUtf8(text));
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(text.substr(0, 4), "{\n  ");  // 2-space indent
  json j = json::parse(text);
  auto read = ReportFromJson(j);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  const RunReport& back = *read;
  // What was not UTF-8 comes back as U+FFFD, the control character as itself.
  EXPECT_EQ(back.cases[3].steps[1].output, ToValidUtf8(kNastyOutput));
  EXPECT_NE(back.cases[3].steps[1].output.find("\xEF\xBF\xBD\xEF\xBF\xBD"), std::string::npos);
  EXPECT_NE(back.cases[3].steps[1].output.find('\x01'), std::string::npos);
  EXPECT_EQ(back.cases[8].reason, ToValidUtf8(r.cases[8].reason));
  EXPECT_EQ(j["summary"]["aborted"], 1);
  EXPECT_EQ(j["cases"][13]["status"], "xfail");
}

TEST(JsonReportTest, InvalidBytesAnywhereNeverThrow) {
  RunReport r;
  r.context["\xff key"] = "\xc3";  // a truncated sequence
  r.sections["x"] = {{"y", std::string("\x80\x80", 2)}};
  std::string text;
  ASSERT_NO_THROW(text = FormatJsonReport(r));
  EXPECT_TRUE(IsValidUtf8(text));
  EXPECT_NO_THROW(json::parse(text));
}

// ---- JUnit -----------------------------------------------------------------------------

TEST(JUnitTest, CountsMatchTheCases) {
  const std::string x = FormatJUnit(Fixture());
  EXPECT_EQ(Count(x, "<testcase "), 15u);
  EXPECT_EQ(Count(x, "<failure "), 3u);  // 2 fail, 1 xpass
  EXPECT_EQ(Count(x, "<error "), 2u);
  EXPECT_EQ(Count(x, "<skipped "), 5u);    // 4 skip, 1 xfail
  EXPECT_EQ(Count(x, "<testsuite "), 8u);  // 2 suites x 2 layers x 2 arches
  EXPECT_NE(x.find("<testsuites name=\"polyarch\" tests=\"15\" failures=\"3\" errors=\"2\" "
                   "skipped=\"5\""),
            std::string::npos);
  EXPECT_NE(x.find("type=\"aborted\""), std::string::npos);
  EXPECT_NE(x.find("type=\"error\""), std::string::npos);
  EXPECT_NE(x.find("<testsuite name=\"lifecycle.runc.s390x\" tests=\"3\" failures=\"1\" "
                   "errors=\"0\" skipped=\"2\""),
            std::string::npos);
  EXPECT_NE(x.find("<testsuite name=\"lifecycle.containerd.amd64\" tests=\"3\" failures=\"1\""),
            std::string::npos);
  EXPECT_NE(x.find("classname=\"lifecycle.runc.amd64\" name=\"exec_runs_in_container#2\""),
            std::string::npos);
}

// JUnit has no known deviations: an xfail is skipped (it does not fail a CI page), an xpass a
// failure that says its entry is stale.
TEST(JUnitTest, KnownDeviationsAreSkippedAndStaleOnesFail) {
  const std::string x = FormatJUnit(Fixture());
  EXPECT_NE(x.find("name=\"kill_term_exits_143\" time=\"0.109\">\n      <skipped message=\"xfail: "
                   "known deviation: the emulated process"),
            std::string::npos)
      << x;
  EXPECT_NE(x.find("<failure message=\"xpass: passed although suites/expectations.json:entry 2 "
                   "lists it as a known deviation"),
            std::string::npos)
      << x;
  EXPECT_NE(x.find("type=\"xpass\">lifecycle/containerd/amd64/kill_term_exits_143: xpass\n"),
            std::string::npos)
      << x;
}

TEST(JUnitTest, EscapesAndStaysValid) {
  const std::string x = FormatJUnit(Fixture());
  EXPECT_TRUE(IsValidUtf8(x));
  EXPECT_EQ(x.find('\x01'), std::string::npos);  // illegal in XML 1.0: dropped
  EXPECT_EQ(x.find("<created>"), std::string::npos);
  EXPECT_EQ(x.find("<panic>"), std::string::npos);
  EXPECT_NE(x.find("message=\"state after create is &quot;running&quot;, want "
                   "&quot;created&quot;\""),
            std::string::npos);
  // A newline in an attribute survives as a character reference.
  EXPECT_NE(x.find("during exec&#10;last log: &lt;panic&gt; &quot;shim&quot; &amp; "),
            std::string::npos);
  EXPECT_NE(x.find("runc: \"state\" &lt;created&gt; &amp; more"), std::string::npos);
  EXPECT_NE(x.find("\xEF\xBF\xBD"), std::string::npos);  // U+FFFD for \xff
  EXPECT_NE(x.find("<property name=\"host.kernel\" value=\"6.1.0-18-amd64\"/>"), std::string::npos);
  EXPECT_NE(x.find("<property name=\"layers.runc.version\" value=\"1.1.5\"/>"), std::string::npos);
}

TEST(JUnitTest, EmptyReportIsStillADocument) {
  const std::string x = FormatJUnit(RunReport{});
  EXPECT_NE(x.find("<testsuites name=\"polyarch\" tests=\"0\""), std::string::npos);
  EXPECT_NE(x.find("</testsuites>"), std::string::npos);
}

// ---- text ------------------------------------------------------------------------------

TEST(ReportTextTest, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8("plain \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x90\xA7"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong "/"
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));          // truncated
  EXPECT_EQ(ToValidUtf8("a\xff"
                        "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(ToValidUtf8("\xE2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(ReportTextTest, EscapingPerSink) {
  EXPECT_EQ(EscapeXml("a<b>&\"c\"\x01\td\n", false), "a&lt;b&gt;&amp;\"c\"\td\n");
  EXPECT_EQ(EscapeXml("a\"b\nc\td\re", true), "a&quot;b&#10;c&#9;d&#13;e");
  EXPECT_EQ(EscapeXml("\xEF\xBF\xBE", false), "");  // U+FFFE is not an XML character
  EXPECT_EQ(EscapeHtml("<a href='x'>&</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;");
  // Terminal escapes become visible pictures, never reach a terminal or a page raw.
  EXPECT_EQ(ToPrintable("\x1b[2J\x01\n\t", true), "\xE2\x90\x9B[2J\xE2\x90\x81\n\t");
  EXPECT_EQ(ToPrintable("a\nb", false),
            "a\xE2\x90\x8A"
            "b");
  EXPECT_EQ(ToPrintable("\xC2\x9B", false), "\xEF\xBF\xBD");  // C1 CSI
}

TEST(ReportTextTest, Durations) {
  EXPECT_EQ(FormatDurationNs(420 * 1000), "0.42 ms");
  EXPECT_EQ(FormatDurationNs(3100 * 1000), "3.1 ms");
  EXPECT_EQ(FormatDurationNs(31 * kMs), "31 ms");
  EXPECT_EQ(FormatDurationNs(2450 * kMs), "2.45 s");
  EXPECT_EQ(FormatDurationNs(62 * 1000 * kMs), "1 m 02 s");
  EXPECT_EQ(FormatSeconds(31 * kMs), "0.031");
  EXPECT_EQ(FormatMs(3.14159), "3.14");
  EXPECT_EQ(FormatMs(31.25), "31.2");
  EXPECT_EQ(FormatMs(310.5), "310");
}

// ---- views -----------------------------------------------------------------------------

TEST(ConsoleTest, ColorOnlyWhenAsked) {
  const RunReport r = Fixture();
  EXPECT_EQ(FormatConsoleSummary(r, false).find('\x1b'), std::string::npos);
  EXPECT_NE(FormatConsoleSummary(r, true).find("\x1b[31m"), std::string::npos);
}

TEST(ConsoleTest, MatrixFirstThenProblemsThenTotals) {
  const std::string s = FormatConsoleSummary(Fixture(), false);
  EXPECT_EQ(s.rfind("  arch \\ layer   runc", 0), 0u) << s;
  EXPECT_NE(s.find("\n  s390x          1/1/1 XF1   0/1/0 E1 A1\n"), std::string::npos) << s;
  EXPECT_NE(s.find("\n  amd64          3/0/1       1/0/2 XP1\n"), std::string::npos) << s;
  size_t problems = s.find("not passing (4):");
  size_t stale = s.find(
      "stale expectations, xpass: passed although listed as known deviations (1):\n"
      "  XPASS    lifecycle/containerd/amd64/kill_term_exits_143\n"
      "           passed although suites/expectations.json:entry 2");
  size_t known = s.find(
      "known deviations, xfail (1), by entry:\n  1  known deviation: the "
      "emulated process's exit status after SIGTERM is 0 [OCI runtime-spec "
      "runtime.md#kill] (suites/expectations.json:entry 1)\n");
  size_t skips = s.find("skipped (4), by reason:");
  size_t totals = s.find("15 cases: 5 pass, 2 fail, 4 skip, 1 error, 1 aborted, 1 xfail, 1 xpass");
  size_t warning = s.find("\nwarning: 1 case passed that expectations list as known deviations");
  ASSERT_NE(problems, std::string::npos) << s;
  ASSERT_NE(stale, std::string::npos) << s;
  ASSERT_NE(known, std::string::npos) << s;
  ASSERT_NE(skips, std::string::npos) << s;
  ASSERT_NE(totals, std::string::npos) << s;
  ASSERT_NE(warning, std::string::npos) << s;
  EXPECT_LT(problems, stale);
  EXPECT_LT(stale, known);
  EXPECT_LT(known, skips);
  EXPECT_LT(skips, totals);
  EXPECT_LT(totals, warning);
  EXPECT_NE(s.find("\nwarning: 1 expectations entry matched no case in this run: "
                   "/etc/polyarch/site.json:entry 1 (spec/*/*/process_rlimits_*)\n"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("  2  native architecture: nothing to compare\n"), std::string::npos) << s;
  EXPECT_NE(s.find("\n  report_json  /var/lib/polyarch/reports/20240501T120000Z/report.json\n"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("\n  junit        /var/lib/polyarch/reports/20240501T120000Z/junit.xml\n"),
            std::string::npos)
      << s;
  EXPECT_TRUE(IsValidUtf8(s));
  EXPECT_EQ(s.find('\x01'), std::string::npos);
}

TEST(ConsoleTest, IncompleteRunSaysSoFirst) {
  RunReport r = Fixture();
  r.complete = false;
  r.incomplete_reason = "interrupted by SIGINT";
  const std::string s = FormatConsoleSummary(r, false);
  EXPECT_EQ(s.rfind("INCOMPLETE: interrupted by SIGINT\n", 0), 0u) << s;
  EXPECT_EQ(Count(s, "INCOMPLETE"), 2u);
  EXPECT_EQ(FormatConsoleSummary(RunReport{}, false).rfind("INCOMPLETE", 0), 0u);
}

TEST(ConsoleTest, EscapeSequencesFromTheStackAreDefused) {
  RunReport r;
  r.complete = true;
  r.cases.push_back(
      Case("faults", "runc", "amd64", "x", CaseStatus::kFail, "\x1b]0;pwned\x07\x1b[2J", {}));
  const std::string s = FormatConsoleSummary(r, false);
  EXPECT_EQ(s.find('\x1b'), std::string::npos);
  EXPECT_EQ(s.find('\x07'), std::string::npos);
  EXPECT_NE(s.find("\xE2\x90\x9B]0;pwned"), std::string::npos);
}

// ---- progress --------------------------------------------------------------------------

TEST(ProgressTest, PlainLineFormat) {
  CaseResult c =
      Case("lifecycle", "runc", "s390x", "create_reports_created", CaseStatus::kPass, "", {});
  c.duration_ns = 31 * kMs;
  EXPECT_EQ(FormatProgressLine(12, 340, c, false),
            "[ 12/340] pass    lifecycle/runc/s390x/create_reports_created 31 ms");
  c.status = CaseStatus::kAborted;
  c.reason = "containerd died\nsecond line";
  EXPECT_EQ(FormatProgressLine(340, 340, c, false),
            "[340/340] aborted lifecycle/runc/s390x/create_reports_created 31 ms: containerd "
            "died");
  EXPECT_EQ(FormatProgressLine(1, 5, c, true).find("[1/5] \x1b[1;31maborted\x1b[0m"), 0u);
}

TEST(ProgressTest, LiveLineFitsTheWidth) {
  StatusCounts counts;
  counts.pass = 10;
  counts.fail = 1;
  counts.aborted = 1;
  EXPECT_EQ(FormatLiveProgress(12, 340, counts, "lifecycle/runc/s390x/x", 3, 200),
            "[ 12/340] 10 pass, 1 fail, 0 skip, 1 aborted | lifecycle/runc/s390x/x (+2)");
  std::string cut = FormatLiveProgress(12, 340, counts, "lifecycle/runc/s390x/\xC3\xA9xyz", 1, 50);
  EXPECT_EQ(DisplayWidth(cut), 50u);
  EXPECT_TRUE(IsValidUtf8(cut));
  EXPECT_EQ(cut.substr(cut.size() - 3), "\u2026");
  EXPECT_EQ(FormatLiveProgress(0, 9, {}, "", 0, 80), "[0/9] 0 pass, 0 fail, 0 skip");
}

TEST(ProgressTest, TerminalRewritesOneLineAndKeepsProblems) {
  const std::string out = ProgressOutput(Fixture(), true);
  EXPECT_NE(out.find("\r\x1b[2K[ 0/15] 0 pass, 0 fail, 0 skip | lifecycle/runc/amd64/"),
            std::string::npos)
      << out;
  // Only failed, errored, aborted and xpass cases get a permanent line, plus the final line:
  // a known deviation is expected, a stale one is news.
  EXPECT_EQ(Count(out, "\n"), 6u) << out;
  EXPECT_NE(out.find("\x1b[1;33mxpass  \x1b[0m lifecycle/containerd/amd64/kill_term_exits_143"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("\x1b[31mfail   \x1b[0m lifecycle/runc/s390x/create_reports_created"),
            std::string::npos)
      << out;
  EXPECT_TRUE(out.ends_with(
      "\r\x1b[2K[15/15] 5 pass, 2 fail, 4 skip, 1 error, 1 aborted, 1 xfail, 1 xpass\n"))
      << out;
}

TEST(ProgressTest, PlainOutputHasOneLinePerCaseFromManyThreads) {
  char* buf = nullptr;
  size_t len = 0;
  FILE* f = open_memstream(&buf, &len);
  constexpr int kThreads = 4, kEach = 50;
  {
    ProgressPrinter p(f, false, kThreads * kEach);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&p, t] {
        for (int i = 0; i < kEach; ++i) {
          CaseResult c =
              Case("throughput", "null", "amd64", "c" + std::to_string(t) + "_" + std::to_string(i),
                   CaseStatus::kPass, "", {});
          p.CaseStarted(c.Id());
          p.CaseFinished(c);
        }
      });
    }
    for (auto& t : threads) t.join();
    p.Finish();
  }
  std::fclose(f);
  std::string out(buf, len);
  std::free(buf);
  EXPECT_EQ(Count(out, "\n"), static_cast<size_t>(kThreads * kEach));
  EXPECT_NE(out.find("[200/200] pass"), std::string::npos);
  EXPECT_EQ(out.find('\r'), std::string::npos);
}

// ---- HTML ------------------------------------------------------------------------------

}  // namespace
}  // namespace polyarch
