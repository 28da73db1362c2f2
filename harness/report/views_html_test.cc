// The views the reporters share (matrix, skips, step latency, context) and the HTML page.
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness/report/console_reporter.h"
#include "harness/report/html_reporter.h"
#include "harness/report/text.h"
#include "harness/report/views.h"
#include "report_fixture.h"

namespace polyarch {
namespace {

using nlohmann::json;
using testing::Case;
using testing::Count;
using testing::Fixture;
using testing::FixtureWithRefusalAndNotes;
using testing::kNastyOutput;
using testing::Step;

TEST(ReportViewsTest, MatrixCountsPerArchAndLayerInRunOrder) {
  StatusMatrix m = BuildStatusMatrix(Fixture().cases);
  EXPECT_EQ(m.arches, (std::vector<std::string>{"amd64", "s390x"}));
  EXPECT_EQ(m.layers, (std::vector<std::string>{"runc", "containerd"}));
  const StatusCounts* c = m.Cell("s390x", "containerd");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->fail, 1);
  EXPECT_EQ(c->error, 1);
  EXPECT_EQ(c->aborted, 1);
  EXPECT_EQ(c->Worst(), CaseStatus::kAborted);
  EXPECT_EQ(m.Cell("amd64", "runc")->Worst(), CaseStatus::kPass);
  EXPECT_EQ(m.Cell("amd64", "runc")->skip, 1);
  EXPECT_EQ(m.Cell("amd64", "nope"), nullptr);
  // A failure outranks a known deviation; a stale expectation outranks passes.
  EXPECT_EQ(m.Cell("s390x", "runc")->xfail, 1);
  EXPECT_EQ(m.Cell("s390x", "runc")->Worst(), CaseStatus::kFail);
  EXPECT_EQ(m.Cell("amd64", "containerd")->xpass, 1);
  EXPECT_EQ(m.Cell("amd64", "containerd")->Worst(), CaseStatus::kXpass);
  EXPECT_EQ(m.Cell("amd64", "containerd")->Total(), 4);
}

TEST(ReportViewsTest, WorstOrdersEveryStatus) {
  StatusCounts c;
  EXPECT_EQ(c.Worst(), CaseStatus::kPass);
  c.Add(CaseStatus::kSkip);
  EXPECT_EQ(c.Worst(), CaseStatus::kSkip);
  c.Add(CaseStatus::kPass);
  EXPECT_EQ(c.Worst(), CaseStatus::kPass);
  c.Add(CaseStatus::kXfail);
  EXPECT_EQ(c.Worst(), CaseStatus::kXfail);
  c.Add(CaseStatus::kXpass);
  EXPECT_EQ(c.Worst(), CaseStatus::kXpass);
  c.Add(CaseStatus::kFail);
  EXPECT_EQ(c.Worst(), CaseStatus::kFail);
  EXPECT_EQ(RareCounts(c), " XF1 XP1");
  c.Add(CaseStatus::kError);
  c.Add(CaseStatus::kAborted);
  EXPECT_EQ(c.Worst(), CaseStatus::kAborted);
  EXPECT_EQ(RareCounts(c), " E1 A1 XF1 XP1");
  EXPECT_EQ(c.Total(), 7);
}

TEST(ReportViewsTest, KnownDeviationsGroupByTheirEntry) {
  auto cases = Fixture().cases;
  CaseResult again = cases[13];  // the xfail case, on another arch, seeing something else
  again.arch = "arm";
  again.reason = again.reason.substr(0, again.reason.find("; observed: ")) +
                 "; observed: exit code 1, want 143";
  cases.push_back(again);
  auto groups = GroupKnownDeviations(cases);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].count, 2);
  EXPECT_EQ(groups[0].reason,
            "known deviation: the emulated process's exit status after SIGTERM is 0 [OCI "
            "runtime-spec runtime.md#kill] (suites/expectations.json:entry 1)");
  auto stale = CasesWithStatus(cases, CaseStatus::kXpass);
  ASSERT_EQ(stale.size(), 1u);
  EXPECT_EQ(stale[0]->Id(), "lifecycle/containerd/amd64/kill_term_exits_143");
  EXPECT_EQ(ReportWarnings(Fixture()).size(), 2u);
  RunReport odd;
  odd.sections = {{"warnings", json::array({"one", 2, json::object()})}};
  EXPECT_EQ(ReportWarnings(odd), std::vector<std::string>{"one"});
  odd.sections = {{"warnings", "not a list"}};
  EXPECT_TRUE(ReportWarnings(odd).empty());
}

TEST(ReportViewsTest, SkipsGroupedMostFrequentFirst) {
  auto cases = Fixture().cases;
  cases.push_back(*std::find_if(cases.begin(), cases.end(), [](const CaseResult& c) {
    return c.reason == "native architecture: nothing to compare";
  }));  // a third "native architecture" skip
  auto groups = GroupSkips(cases);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].reason, "native architecture: nothing to compare");
  EXPECT_EQ(groups[0].count, 3);
  EXPECT_EQ(groups[1].count, 2);
}

TEST(ReportViewsTest, StepLatencyTimesOnlySuccessfulSteps) {
  auto layers = StepLatencyByLayer(Fixture().cases);
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_EQ(layers[0].layer, "runc");
  const StepLatency& create = layers[0].steps[0];
  EXPECT_EQ(create.step, "create");
  // Three amd64 lifecycles, the failed s390x case and the known deviation.
  EXPECT_EQ(create.ms.count, 5);
  EXPECT_DOUBLE_EQ(create.ms.max, 52);
  const StepLatency* exec = nullptr;
  for (const auto& s : layers[1].steps) {
    if (s.step == "exec") exec = &s;
  }
  ASSERT_NE(exec, nullptr);
  EXPECT_EQ(exec->ms.count, 0);
  EXPECT_EQ(exec->errors, 1);
}

TEST(ReportViewsTest, StepLatencyGroupsByVerbAndCountsRequiredRefusalsApart) {
  auto layers = StepLatencyByLayer(FixtureWithRefusalAndNotes().cases);
  ASSERT_FALSE(layers.empty());
  std::vector<std::string> verbs;
  for (const auto& s : layers[0].steps) verbs.push_back(s.step);
  // One row per verb, in first-seen order: the ids in the noted steps' names make no rows.
  EXPECT_EQ(verbs, (std::vector<std::string>{"create", "start", "wait", "delete", "cleanup",
                                             "state", "run", "probe", "kill"}));
  const StepLatency& create = layers[0].steps[0];
  // Lifecycles, start_twice_fails, three noted, the known deviation.
  EXPECT_EQ(create.ms.count, 4 + 1 + 3 + 1);
  const StepLatency& start = layers[0].steps[1];
  EXPECT_EQ(start.errors, 0) << "a refusal the case required is not a failed step";
  EXPECT_EQ(start.expected_refusals, 1);
}

TEST(ReportViewsTest, StepsWithoutAVerbAreGroupedByTheirNamesFirstWord) {
  StepRecord kill{"kill 15", "runc kill", 1, true, "", ""};
  StepRecord force{"delete --force", "runc delete", 1, true, "", ""};
  StepRecord cleanup{"cleanup delete --force", "runc delete", 1, true, "", ""};
  EXPECT_EQ(StepVerb(kill), "kill");
  EXPECT_EQ(StepVerb(force), "delete --force");
  EXPECT_EQ(StepVerb(cleanup), "cleanup delete --force");
  kill.verb = "signal";
  EXPECT_EQ(StepVerb(kill), "signal");
}

TEST(ReportViewsTest, ContextValuesAndBasics) {
  json ctx = Fixture().context;
  EXPECT_EQ(ContextValue(ctx, "host.cpus"), "2");
  EXPECT_EQ(ContextValue(ctx, "host.kernel"), "6.1.0-18-amd64");
  EXPECT_EQ(ContextValue(ctx, "host.nothing"), "");
  EXPECT_EQ(ContextValue(ctx, "host"), "");  // an object is not a value
  EXPECT_EQ(ContextValue(json::array(), "host"), "");
  auto basics = ContextBasics(ctx);
  ASSERT_FALSE(basics.empty());
  EXPECT_EQ(basics.front().first, "host.hostname");
  EXPECT_EQ(basics.back(),
            (std::pair<std::string, std::string>{"daemons.containerd.version", "1.6.20"}));
  EXPECT_TRUE(ContextBasics(json::object()).empty());
}

// ---- console ---------------------------------------------------------------------------

TEST(ReportViewsTest, CrossArchTimingsPutEachArchBesideNative) {
  auto timed = [](const std::string& layer, const std::string& arch, const std::string& name,
                  const char* metric, double ms) {
    CaseResult c = Case("crossarch", layer, arch, name, CaseStatus::kPass, "", {});
    c.metrics[metric] = ms;
    return c;
  };
  std::vector<CaseResult> cases = {
      timed("runc", "amd64", "start_latency", "start_ms", 70),
      timed("runc", "amd64", "probe_info_matches_native", "probe_run_ms", 2),
      timed("runc", "s390x", "start_latency", "start_ms", 105),
      timed("runc", "s390x", "probe_info_matches_native", "probe_run_ms", 48),
      timed("crun", "s390x", "start_latency", "start_ms", 50),  // crun has no native timing
      Case("crossarch", "runc", "arm", "start_latency", CaseStatus::kFail, "no", {}),
  };
  json rows = CrossArchTimings(cases, "amd64");
  ASSERT_EQ(rows.size(), 3u) << rows.dump();
  EXPECT_EQ(rows[1], json({{"layer", "runc"},
                           {"arch", "s390x"},
                           {"emulated_start_ms", 105.0},
                           {"native_start_ms", 70.0},
                           {"probe_run_ms", 48.0},
                           {"native_probe_run_ms", 2.0}}));
  EXPECT_EQ(rows[2], json({{"layer", "crun"}, {"arch", "s390x"}, {"emulated_start_ms", 50.0}}));
  EXPECT_TRUE(CrossArchTimings({}, "amd64").empty());
}

TEST(HtmlTest, SelfContainedAndValidUtf8) {
  const std::string h = FormatHtml(Fixture());
  EXPECT_TRUE(IsValidUtf8(h));
  // A URL appears only as text (the fixture's stale expectation cites one), never where a
  // browser would load it.
  EXPECT_EQ(h.find("=\"http"), std::string::npos);
  EXPECT_EQ(h.find(" src="), std::string::npos);
  EXPECT_EQ(h.find(" href="), std::string::npos);
  EXPECT_EQ(h.find("<script"), std::string::npos);
  EXPECT_EQ(h.find("<link"), std::string::npos);
  EXPECT_EQ(h.find("url("), std::string::npos);
  EXPECT_EQ(h.find("@import"), std::string::npos);
  EXPECT_EQ(h.find('\x01'), std::string::npos);
  EXPECT_EQ(h.rfind("<!DOCTYPE html>", 0), 0u);
}

TEST(HtmlTest, HasEverySectionAndEscapesText) {
  const std::string h = FormatHtml(Fixture());
  for (const char* id : {"summary", "matrix", "failures", "deviations", "skips", "latency",
                         "throughput", "crossarch", "cases"}) {
    EXPECT_NE(h.find(std::string("<section id=\"") + id + "\">"), std::string::npos) << id;
  }
  EXPECT_EQ(h.find("<created>"), std::string::npos);
  EXPECT_EQ(h.find("<panic>"), std::string::npos);
  EXPECT_NE(h.find("runc: &quot;state&quot; &lt;created&gt; &amp; more"), std::string::npos);
  EXPECT_NE(h.find("\xE2\x90\x81 control"), std::string::npos);  // \x01 shown as a picture
  EXPECT_NE(h.find("<dt>Kernel</dt><dd>6.1.0-18-amd64</dd>"), std::string::npos);
  EXPECT_NE(h.find("<dt>runc (layer)</dt><dd>1.1.5</dd>"), std::string::npos);
  EXPECT_GE(Count(h, "<svg "), 2u + 2u + 3u + 2u + 1u);  // latency, rate, per-K, crossarch
}

// xfail and xpass have their own cell colors, badges, tiles and legend entries; the known
// deviations have a section with the files applied and the entries that matched nothing; the
// warnings show under the banner.
TEST(HtmlTest, KnownDeviationsAreVisibleEverywhere) {
  const std::string h = FormatHtml(Fixture());
  EXPECT_NE(h.find(".c-xfail{background:"), std::string::npos);
  EXPECT_NE(h.find(".c-xpass{background:"), std::string::npos);
  EXPECT_NE(h.find("<p class=\"note legend\"><span class=\"c-aborted\">aborted</span>"
                   "<span class=\"c-error\">error</span><span class=\"c-fail\">fail</span>"
                   "<span class=\"c-xpass\">xpass</span><span class=\"c-xfail\">xfail</span>"
                   "<span class=\"c-skip\">skip</span><span class=\"c-pass\">pass</span></p>"),
            std::string::npos);
  EXPECT_NE(h.find("<td class=\"c-xpass\" title=\"1 pass, 0 fail, 2 skip, 0 error, 0 aborted, 0 "
                   "xfail, 1 xpass\">1 / 0 / 2 XP1</td>"),
            std::string::npos);
  EXPECT_NE(h.find("<td class=\"c-fail\" title=\"1 pass, 1 fail, 1 skip, 0 error, 0 aborted, 1 "
                   "xfail, 0 xpass\">1 / 1 / 1 XF1</td>"),
            std::string::npos);
  EXPECT_NE(h.find("<div class=\"tile xfail\"><b>1</b>xfail</div>"), std::string::npos);
  EXPECT_NE(h.find("<div class=\"tile xpass\"><b>1</b>xpass</div>"), std::string::npos);
  EXPECT_NE(h.find("<span class=\"s s-xfail\">xfail</span>"), std::string::npos);
  EXPECT_NE(h.find("<span class=\"s s-xpass\">xpass</span>"), std::string::npos);
  EXPECT_NE(h.find("<h3>Stale expectations (1 xpass)</h3>"), std::string::npos);
  EXPECT_NE(h.find("<h3>Failed as known (1 xfail)</h3>"), std::string::npos);
  EXPECT_NE(h.find("<tr><td><code>suites/expectations.json</code> (built in)</td><td "
                   "class=\"num\">2</td></tr>"),
            std::string::npos);
  EXPECT_NE(h.find("<tr><td>/etc/polyarch/site.json:entry 1</td><td><code>"
                   "spec/*/*/process_rlimits_*</code></td></tr>"),
            std::string::npos);
  EXPECT_NE(h.find("<div class=\"banner warn\">Warning: 1 case passed that expectations list as "
                   "known deviations"),
            std::string::npos);
  // The section comes after the failures and before the skips.
  EXPECT_LT(h.find("<section id=\"failures\">"), h.find("<section id=\"deviations\">"));
  EXPECT_LT(h.find("<section id=\"deviations\">"), h.find("<section id=\"skips\">"));
  // A run without expectations and without such cases has no such section.
  RunReport plain;
  plain.complete = true;
  plain.cases.push_back(Case("lifecycle", "runc", "amd64", "x", CaseStatus::kPass, "", {}));
  EXPECT_EQ(FormatHtml(plain).find("<section id=\"deviations\">"), std::string::npos);
}

// Only known deviations failed: the banner is green, and says so.
TEST(HtmlTest, AGreenBannerCountsKnownDeviations) {
  RunReport r;
  r.complete = true;
  r.cases.push_back(Case("lifecycle", "runc", "amd64", "x", CaseStatus::kPass, "", {}));
  r.cases.push_back(Case("lifecycle", "runc", "amd64", "y", CaseStatus::kXfail, "known", {}));
  const std::string h = FormatHtml(r);
  EXPECT_NE(h.find("<div class=\"banner ok\">Complete: all 2 cases passed, failed as known "
                   "deviations (1 xfail), or were skipped for a stated reason; exit code "
                   "0.</div>"),
            std::string::npos)
      << h.substr(0, 5000);
  RunReport malformed = r;
  malformed.sections = {{"expectations",
                         {{"files", json::array({1, {{"path", 2}}, "x"})},
                          {"unused", json::array({json::object(), 3})}}},
                        {"warnings", json::array({7})}};
  std::string page;
  ASSERT_NO_THROW(page = FormatHtml(malformed));
  EXPECT_TRUE(IsValidUtf8(page));
  ASSERT_NO_THROW(FormatConsoleSummary(malformed, true));
}

TEST(HtmlTest, MissingOrMalformedSectionsAreLeftOut) {
  RunReport r = Fixture();
  r.sections = json::object();
  std::string h = FormatHtml(r);
  EXPECT_EQ(h.find("<section id=\"throughput\">"), std::string::npos);
  EXPECT_EQ(h.find("<section id=\"crossarch\">"), std::string::npos);

  r.sections = {{"throughput", "not a list"},
                {"crossarch", json::array({1, "x", json::object(), {{"arch", 7}}})},
                {"paths", 3}};
  ASSERT_NO_THROW(h = FormatHtml(r));
  EXPECT_EQ(h.find("<section id=\"throughput\">"), std::string::npos);
  EXPECT_EQ(h.find("<section id=\"crossarch\">"), std::string::npos);
  r.sections = {{"throughput", json::array({{{"layer", "runc"},
                                             {"arch", "amd64"},
                                             {"concurrency", 2},
                                             {"starts_per_s", "fast"},
                                             {"latency", {{"create", {{"count", "x"}}}}}}})}};
  ASSERT_NO_THROW(h = FormatHtml(r));
  EXPECT_TRUE(IsValidUtf8(h));
  ASSERT_NO_THROW(FormatConsoleSummary(r, true));
}

// The throughput section says which cycle each layer was measured on; a row without a path
// (written before rows carried one) measured the lifecycle.
TEST(HtmlTest, ThroughputSaysWhichCycleEachLayerMeasured) {
  RunReport r = Fixture();
  json run_row = testing::ThroughputRow("crun", "amd64", 1, 30, 20);
  run_row["path"] = "run";
  run_row["latency"] = {{"run", run_row["latency"]["end_to_end"]},
                        {"end_to_end", run_row["latency"]["end_to_end"]}};
  r.sections["throughput"].push_back(run_row);
  std::string h = FormatHtml(r);
  EXPECT_NE(h.find("<h3>crun</h3>\n<p class=\"note\">cycle: run (one call of the stack per "
                   "container: run to exit, removed)</p>"),
            std::string::npos);
  EXPECT_NE(h.find("<h3>runc</h3>\n<p class=\"note\">cycle: lifecycle (create, start, wait, "
                   "delete: each timed)</p>"),
            std::string::npos);
  EXPECT_NE(h.find("amd64 \u00b7 run"), std::string::npos) << "the run latency has its box";
}

// A run whose cases all passed but whose exit code is not 0 (a mount left behind) must not
// show a green banner: the banner gives the exit code and why.
TEST(HtmlTest, TheBannerFollowsTheExitCodeAndSaysWhy) {
  RunReport r;
  r.complete = true;
  r.cases.push_back(
      Case("lifecycle", "runc", "amd64", "create_reports_created", CaseStatus::kPass, "", {}));
  r.exit_code = 1;
  r.exit_reasons = {"cleanup did not restore the host: mount /x (overlay) was left"};
  std::string h = FormatHtml(r);
  EXPECT_EQ(h.find("banner ok"), std::string::npos);
  EXPECT_NE(h.find("<div class=\"banner bad\">Exit code 1: cleanup did not restore the host: "
                   "mount /x (overlay) was left.</div>"),
            std::string::npos)
      << h.substr(0, 4000);
  std::string console = FormatConsoleSummary(r, false);
  EXPECT_NE(console.find("exit code 1: cleanup did not restore the host"), std::string::npos)
      << console;
  r.exit_code = 0;
  r.exit_reasons.clear();
  h = FormatHtml(r);
  EXPECT_NE(h.find("banner ok"), std::string::npos);
  EXPECT_NE(h.find("exit code 0"), std::string::npos);
}

// Chart labels are right-aligned at the label column's edge: a label longer than the column
// would run off the left of the picture, so each must fit it.
TEST(HtmlTest, ChartLabelsFitTheirColumn) {
  RunReport r = Fixture();
  CaseResult c = Case("lifecycle", "runc", "amd64", "x", CaseStatus::kPass, "",
                      {Step("a step whose name is far too long to fit any label column", "op", 1)});
  c.steps[0].verb = c.steps[0].name;
  r.cases.push_back(c);
  const std::string h = FormatHtml(r);
  size_t labels = 0;
  for (size_t at = h.find("text-anchor=\"end\">"); at != std::string::npos;
       at = h.find("text-anchor=\"end\">", at + 1)) {
    size_t start = at + std::string("text-anchor=\"end\">").size();
    std::string label = h.substr(start, h.find("</text>", start) - start);
    // 11px text: 7px per character covers the widest common ones; the column is 192px.
    EXPECT_LE(DisplayWidth(label) * 7, 192u) << label;
    ++labels;
  }
  EXPECT_GT(labels, 5u);
}

TEST(HtmlTest, IncompleteBannerAndEmptyReport) {
  RunReport r = Fixture();
  r.complete = false;
  r.incomplete_reason = "containerd died <twice>";
  std::string h = FormatHtml(r);
  EXPECT_NE(h.find("<div class=\"banner incomplete\">INCOMPLETE: containerd died &lt;twice&gt;"),
            std::string::npos);
  h = FormatHtml(RunReport{});
  EXPECT_TRUE(IsValidUtf8(h));
  EXPECT_NE(h.find("INCOMPLETE"), std::string::npos);
  EXPECT_EQ(h.find("<svg"), std::string::npos);
}

}  // namespace
}  // namespace polyarch
