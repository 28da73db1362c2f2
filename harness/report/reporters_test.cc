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
#include "tests/build_paths.h"

namespace polyarch {
namespace {

using nlohmann::json;

// Text the stack might print: quotes, markup, an ampersand, a newline, bytes that are not
// UTF-8 and a control character.
const std::string kNastyOutput =
    "runc: \"state\" <created> & more\nsecond line \xff\xfe and \x01 control";

constexpr int64_t kMs = 1000 * 1000;

StepRecord Step(const std::string& name, const std::string& op, double ms, bool ok = true,
                const std::string& error = "", const std::string& output = "") {
  return {name, op, static_cast<int64_t>(ms * kMs), ok, error, output};
}

CaseResult Case(const std::string& suite, const std::string& layer, const std::string& arch,
                const std::string& name, CaseStatus status, const std::string& reason,
                std::vector<StepRecord> steps) {
  CaseResult c;
  c.suite = suite;
  c.layer = layer;
  c.arch = arch;
  c.name = name;
  c.status = status;
  c.reason = reason;
  c.steps = std::move(steps);
  for (const auto& s : c.steps) c.duration_ns += s.duration_ns;
  c.duration_ns += 2 * kMs;  // the case's own bookkeeping
  return c;
}

std::vector<StepRecord> Lifecycle(const std::string& layer, double create, double start,
                                  double wait, double del) {
  bool oci = layer == "runc" || layer == "crun";
  return {Step("create", oci ? layer + " create" : "Containers.Create+Tasks.Create", create),
          Step("start", oci ? layer + " start" : "Tasks.Start", start),
          Step("wait", oci ? layer + " state (poll)" : "Tasks.Wait", wait),
          Step("delete", oci ? layer + " delete" : "Tasks.Delete+Containers.Delete", del)};
}

json Dist(std::vector<double> v) { return DistributionJson(ComputeDistribution(std::move(v))); }

json ThroughputRow(const std::string& layer, const std::string& arch, int k, double rate,
                   double base) {
  auto scaled = [&](double f) {
    std::vector<double> v;
    for (int i = 0; i < 10; ++i) v.push_back(base * f * (1 + 0.04 * i + 0.01 * k * (i % 3)));
    return Dist(v);
  };
  return {{"layer", layer},
          {"arch", arch},
          {"concurrency", k},
          {"starts_per_s", rate},
          {"latency",
           {{"create", scaled(0.45 * k)},
            {"start", scaled(0.2 * k)},
            {"wait", scaled(0.1)},
            {"delete", scaled(0.25 * k)},
            {"end_to_end", scaled(1.0 * k)}}}};
}

RunReport Fixture() {
  RunReport r;
  r.started_at = "2024-05-01T12:00:00Z";
  r.finished_at = "2024-05-01T12:03:21Z";
  r.complete = true;
  r.exit_code = 1;
  r.exit_reasons = {"4 of 13 cases did not pass (2 failed, 1 errored, 1 aborted)"};
  const std::string digest = "sha256:" + std::string(64, 'a');
  // The shapes harness/run writes (docs/report.schema.json describes them).
  json image = {{"arch", "s390x"},
                {"platform", "linux/s390x"},
                {"reference", "polyarch.local/test:s390x"},
                {"manifest", {{"digest", digest}, {"size", 480}}}};
  r.context = {
      {"host",
       {{"hostname", "ci-runner-7"},
        {"kernel", "6.1.0-18-amd64"},
        {"machine", "x86_64"},
        {"cpu_model", "Intel(R) Xeon(R) CPU @ 2.20GHz"},
        {"cpus", 2},
        {"cgroup_mode", "hybrid"},
        {"cgroup_v2_controllers", json::array({"hugetlb"})}}},
      {"polyarch",
       {{"version", "0.1.0"},
        {"command_line", "polyarch run --arch amd64,s390x --layer runc,containerd"},
        {"run_id", "20240501T120000Z-3f2a"}}},
      {"layers",
       {{"runc", {{"layer", "runc"}, {"binary", "/usr/sbin/runc"}, {"version", "1.1.5"}}},
        {"containerd", {{"layer", "containerd"}, {"version", "1.6.20"}}}}},
      {"daemons",
       {{"containerd",
         {{"owned", true}, {"version", "1.6.20"}, {"address", "/run/pa/containerd.sock"}}}}},
      {"qemu", {{"version", "7.2.0"}, {"emulator_dir", "/usr/bin"}}},
      {"binfmt", json::array({{{"arch", "s390x"},
                               {"entry", "polyarch-s390x"},
                               {"action", "registered"},
                               {"flags", "F"},
                               {"interpreter", "/usr/bin/qemu-s390x-static"},
                               {"owner", "polyarch"},
                               {"proven", true}}})},
      {"images", {{"out_dir", "/var/lib/polyarch/images"}, {"images", json::array({image})}}}};

  const auto P = CaseStatus::kPass;
  r.cases.push_back(Case("lifecycle", "runc", "amd64", "create_reports_created", P, "",
                         Lifecycle("runc", 31, 12, 4.5, 18)));
  r.cases.push_back(Case("lifecycle", "runc", "amd64", "exec_runs_in_container", P, "",
                         Lifecycle("runc", 33, 11, 6, 17)));
  CaseResult again = Case("lifecycle", "runc", "amd64", "exec_runs_in_container", P, "",
                          Lifecycle("runc", 29, 13, 5, 19));
  again.repeat = 1;
  r.cases.push_back(again);
  CaseResult fail = Case(
      "lifecycle", "runc", "s390x", "create_reports_created", CaseStatus::kFail,
      "state after create is \"running\", want \"created\"",
      {Step("create", "runc create", 52),
       Step("state", "runc state", 3.2, false, "status \"running\" & <unexpected>", kNastyOutput),
       Step("delete", "runc delete --force", 21)});
  fail.spec_ref = "OCI runtime-spec runtime.md#create";
  r.cases.push_back(fail);
  r.cases.push_back(Case("lifecycle", "runc", "s390x", "pause_freezes", CaseStatus::kSkip,
                         "layer cannot pause: cgroup freezer not available", {}));

  r.cases.push_back(Case("lifecycle", "containerd", "amd64", "create_reports_created", P, "",
                         Lifecycle("containerd", 125, 40, 8, 75)));
  r.cases.push_back(Case("lifecycle", "containerd", "amd64", "pause_freezes", CaseStatus::kSkip,
                         "layer cannot pause: cgroup freezer not available", {}));
  r.cases.push_back(Case("lifecycle", "containerd", "s390x", "create_reports_created",
                         CaseStatus::kError,
                         "harness: image polyarch.local/test:s390x not imported: deadline 30 s "
                         "exceeded",
                         {Step("import", "Content.Write", 30000, false, "deadline exceeded")}));
  CaseResult aborted =
      Case("lifecycle", "containerd", "s390x", "exec_runs_in_container", CaseStatus::kAborted,
           "containerd exited (signal 9) during exec\nlast log: <panic> \"shim\" & \xff\xfe \x01",
           {Step("create", "Containers.Create+Tasks.Create", 140), Step("start", "Tasks.Start", 45),
            Step("exec", "Tasks.Exec /probe info", 12, false, "rpc error: transport is closing",
                 kNastyOutput)});
  r.cases.push_back(aborted);

  CaseResult probe = Case("crossarch", "runc", "s390x", "probe_reports_machine", P, "",
                          {Step("run", "runc run", 105.2), Step("probe", "probe info", 48.3)});
  probe.spec_ref = "binfmt_misc: foreign ELF runs under its emulator";
  probe.metrics = {{"emulated_start_ms", 105.2}, {"native_start_ms", 70.1}};
  probe.data = {{"probe", {{"machine", "s390x"}, {"endianness", "big"}, {"bits", 64}}}};
  r.cases.push_back(probe);
  r.cases.push_back(Case("crossarch", "containerd", "s390x", "probe_reports_machine",
                         CaseStatus::kFail, "probe printed machine \"x86_64\", want \"s390x\"",
                         {Step("run", "Tasks.Start", 310.5),
                          Step("probe", "probe info", 47.9, false, "machine mismatch",
                               "{\"machine\":\"x86_64\",\"endianness\":\"little\"}\n")}));
  r.cases.push_back(Case("crossarch", "runc", "amd64", "probe_reports_machine", CaseStatus::kSkip,
                         "native architecture: nothing to compare", {}));
  r.cases.push_back(Case("crossarch", "containerd", "amd64", "probe_reports_machine",
                         CaseStatus::kSkip, "native architecture: nothing to compare", {}));

  r.sections["paths"] = {{"report_json", "/var/lib/polyarch/reports/20240501T120000Z/report.json"},
                         {"junit", "/var/lib/polyarch/reports/20240501T120000Z/junit.xml"},
                         {"html", "/var/lib/polyarch/reports/20240501T120000Z/report.html"}};
  r.sections["throughput"] = json::array({
      ThroughputRow("runc", "amd64", 1, 13.9, 70),
      ThroughputRow("runc", "amd64", 2, 22.4, 70),
      ThroughputRow("runc", "amd64", 4, 24.1, 70),
      ThroughputRow("runc", "s390x", 1, 9.4, 105),
      ThroughputRow("runc", "s390x", 2, 15.8, 105),
      ThroughputRow("runc", "s390x", 4, 16.9, 105),
      ThroughputRow("containerd", "amd64", 1, 4.1, 240),
      ThroughputRow("containerd", "amd64", 2, 6.9, 240),
      ThroughputRow("containerd", "amd64", 4, 7.6, 240),
  });
  r.sections["crossarch"] = json::array({{{"layer", "runc"},
                                          {"arch", "s390x"},
                                          {"emulated_start_ms", 105.2},
                                          {"native_start_ms", 70.1},
                                          {"probe_run_ms", 48.3},
                                          {"native_probe_run_ms", 2.4}},
                                         {{"layer", "containerd"},
                                          {"arch", "s390x"},
                                          {"emulated_start_ms", 310.5},
                                          {"native_start_ms", 240.2},
                                          {"probe_run_ms", 47.9},
                                          {"native_probe_run_ms", 2.5}}});
  return r;
}

// The fixture and two more runc/amd64 cases: a refusal the case required with a cleanup, and
// steps noted by hand whose names carry container ids.
RunReport FixtureWithRefusalAndNotes() {
  RunReport r = Fixture();
  const auto P = CaseStatus::kPass;
  // A refusal the case required, and a cleanup: steps whose names the latency view must not
  // split into rows of their own, and whose failure is not a failed step.
  StepRecord refused = Step("start", "runc start", 6, false, "failed_precondition: not created");
  refused.expected_refusal = true;
  StepRecord cleanup = Step("cleanup delete --force", "runc delete", 16);
  cleanup.verb = "cleanup";
  r.cases.insert(r.cases.begin() + 3, Case("lifecycle", "runc", "amd64", "start_twice_fails", P, "",
                                           {Step("create", "runc create", 30),
                                            Step("start", "runc start", 12), refused, cleanup}));
  // Steps noted by hand carry an id in their name; their verb groups them.
  std::vector<StepRecord> many;
  for (int i = 0; i < 3; ++i) {
    StepRecord s =
        Step("create pa3f2a-runc-amd64-twenty_concurrent_containers-many" + std::to_string(i),
             "runc create", 40 + i);
    s.verb = "create";
    many.push_back(s);
  }
  r.cases.insert(r.cases.begin() + 4,
                 Case("lifecycle", "runc", "amd64", "twenty_concurrent_containers", P, "", many));

  return r;
}

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

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
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
}

// ---- JSON ------------------------------------------------------------------------------

TEST(JsonReportTest, RoundTripsThroughTheJsonValue) {
  const RunReport r = Fixture();
  RunReport back;
  std::string error;
  ASSERT_TRUE(ReportFromJson(ReportToJson(r), &back, &error)) << error;
  EXPECT_EQ(ReportToJson(back), ReportToJson(r));
  ASSERT_EQ(back.cases.size(), r.cases.size());
  EXPECT_EQ(back.cases[2].Id(), "lifecycle/runc/amd64/exec_runs_in_container#2");
  EXPECT_EQ(back.cases[3].steps[1].output, kNastyOutput);  // bytes kept in memory
  EXPECT_EQ(back.cases[8].status, CaseStatus::kAborted);
}

TEST(JsonReportTest, TextIsValidUtf8AndParsesBack) {
  const RunReport r = Fixture();
  const std::string text = FormatJsonReport(r);
  EXPECT_TRUE(IsValidUtf8(text));
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(text.substr(0, 4), "{\n  ");  // 2-space indent
  json j = json::parse(text);
  RunReport back;
  std::string error;
  ASSERT_TRUE(ReportFromJson(j, &back, &error)) << error;
  // What was not UTF-8 comes back as U+FFFD, the control character as itself.
  EXPECT_EQ(back.cases[3].steps[1].output, ToValidUtf8(kNastyOutput));
  EXPECT_NE(back.cases[3].steps[1].output.find("\xEF\xBF\xBD\xEF\xBF\xBD"), std::string::npos);
  EXPECT_NE(back.cases[3].steps[1].output.find('\x01'), std::string::npos);
  EXPECT_EQ(back.cases[8].reason, ToValidUtf8(r.cases[8].reason));
  EXPECT_EQ(j["summary"]["aborted"], 1);
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
  EXPECT_EQ(Count(x, "<testcase "), 13u);
  EXPECT_EQ(Count(x, "<failure "), 2u);
  EXPECT_EQ(Count(x, "<error "), 2u);
  EXPECT_EQ(Count(x, "<skipped "), 4u);
  EXPECT_EQ(Count(x, "<testsuite "), 8u);  // 2 suites x 2 layers x 2 arches
  EXPECT_NE(x.find("<testsuites name=\"polyarch\" tests=\"13\" failures=\"2\" errors=\"2\" "
                   "skipped=\"4\""),
            std::string::npos);
  EXPECT_NE(x.find("type=\"aborted\""), std::string::npos);
  EXPECT_NE(x.find("type=\"error\""), std::string::npos);
  EXPECT_NE(x.find("<testsuite name=\"lifecycle.runc.s390x\" tests=\"2\" failures=\"1\""),
            std::string::npos);
  EXPECT_NE(x.find("classname=\"lifecycle.runc.amd64\" name=\"exec_runs_in_container#2\""),
            std::string::npos);
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
}

TEST(ReportViewsTest, SkipsGroupedMostFrequentFirst) {
  auto cases = Fixture().cases;
  cases.push_back(cases.back());  // a third "native architecture" skip
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
  EXPECT_EQ(create.ms.count, 4);  // three amd64 lifecycles and the failed s390x case
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
                                             "state", "run", "probe"}));
  const StepLatency& create = layers[0].steps[0];
  EXPECT_EQ(create.ms.count, 4 + 1 + 3);  // lifecycles, start_twice_fails, three noted
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

TEST(ConsoleTest, ColorOnlyWhenAsked) {
  const RunReport r = Fixture();
  EXPECT_EQ(FormatConsoleSummary(r, false).find('\x1b'), std::string::npos);
  EXPECT_NE(FormatConsoleSummary(r, true).find("\x1b[31m"), std::string::npos);
}

TEST(ConsoleTest, MatrixFirstThenProblemsThenTotals) {
  const std::string s = FormatConsoleSummary(Fixture(), false);
  EXPECT_EQ(s.rfind("  arch \\ layer   runc", 0), 0u) << s;
  EXPECT_NE(s.find("\n  s390x          1/1/1   0/1/0 E1 A1\n"), std::string::npos) << s;
  EXPECT_NE(s.find("\n  amd64          3/0/1   1/0/2\n"), std::string::npos) << s;
  size_t problems = s.find("not passing (4):");
  size_t skips = s.find("skipped (4), by reason:");
  size_t totals = s.find("13 cases: 5 pass, 2 fail, 4 skip, 1 error, 1 aborted");
  ASSERT_NE(problems, std::string::npos) << s;
  ASSERT_NE(skips, std::string::npos) << s;
  ASSERT_NE(totals, std::string::npos) << s;
  EXPECT_LT(problems, skips);
  EXPECT_LT(skips, totals);
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
  EXPECT_NE(out.find("\r\x1b[2K[ 0/13] 0 pass, 0 fail, 0 skip | lifecycle/runc/amd64/"),
            std::string::npos)
      << out;
  // Only failed, errored and aborted cases get a permanent line, plus the final line.
  EXPECT_EQ(Count(out, "\n"), 5u) << out;
  EXPECT_NE(out.find("\x1b[31mfail   \x1b[0m lifecycle/runc/s390x/create_reports_created"),
            std::string::npos)
      << out;
  EXPECT_TRUE(out.ends_with("\r\x1b[2K[13/13] 5 pass, 2 fail, 4 skip, 1 error, 1 aborted\n"))
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

TEST(HtmlTest, SelfContainedAndValidUtf8) {
  const std::string h = FormatHtml(Fixture());
  EXPECT_TRUE(IsValidUtf8(h));
  EXPECT_EQ(h.find("http://"), std::string::npos);
  EXPECT_EQ(h.find("https://"), std::string::npos);
  EXPECT_EQ(h.find("<script"), std::string::npos);
  EXPECT_EQ(h.find("<link"), std::string::npos);
  EXPECT_EQ(h.find("url("), std::string::npos);
  EXPECT_EQ(h.find("@import"), std::string::npos);
  EXPECT_EQ(h.find('\x01'), std::string::npos);
  EXPECT_EQ(h.rfind("<!DOCTYPE html>", 0), 0u);
}

TEST(HtmlTest, HasEverySectionAndEscapesText) {
  const std::string h = FormatHtml(Fixture());
  for (const char* id :
       {"summary", "matrix", "failures", "skips", "latency", "throughput", "crossarch", "cases"}) {
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
