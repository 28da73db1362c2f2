// `polyarch run` end to end, as CI runs it: real layers, real arches, real reports.
#include <signal.h>
#include <unistd.h>

#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "cli_runner.h"
#include "harness/core/fs.h"
#include "harness/core/strings.h"
#include "harness/core/subprocess.h"

namespace polyarch {
namespace {

using nlohmann::json;
using testing::RunPolyarch;
using testing::StdoutJson;

json ReadJson(const std::string& path) {
  auto text = ReadFile(path);
  return text.ok() ? json::parse(*text, nullptr, false) : json();
}

const json* FindCase(const json& report, const std::string& id) {
  for (const auto& c : report["cases"]) {
    if (c["id"] == id) return &c;
  }
  return nullptr;
}

// The reports in `reports` against the validators the golden tests use: the JSON Schema, a
// JUnit XSD, the self-contained page check.
void ExpectReportsValidate(const std::string& reports) {
  const std::string src = testing::kSourceDir;
  const std::string script = src + "/harness/report/validate_report.py";
  for (std::vector<std::string> args :
       {std::vector<std::string>{"json", src + "/docs/report.schema.json",
                                 reports + "/report.json"},
        {"junit", src + "/tests/golden/junit.xsd", reports + "/junit.xml"},
        {"html", reports + "/report.html"}}) {
    args.insert(args.begin(), {"/usr/bin/python3", script});
    auto v = RunProcess(args, std::chrono::seconds(120));
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(v->exit_code, 0) << args[2] << ": " << v->out.Text() << v->err.Text();
  }
}

class RunIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("polyarch-run-itest-");
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(*d));
  }
  std::unique_ptr<TempDir> dir_;
};

// A small run whose reports must be what the schema, a JUnit parser and a browser take.
TEST_F(RunIntegrationTest, ReportsValidateAndEveryCasePasses) {
  const std::string reports = dir_->path() + "/reports";
  auto r = RunPolyarch({"run", "--layer", "runc,crun", "--arch", "amd64,s390x", "--strict",
                        "--jobs", "2", "--report-dir", reports, "--no-color"},
                       std::chrono::seconds(900));
  EXPECT_EQ(r.exit_code, 0) << r.out.Text() << r.err.Text();
  json report = ReadJson(reports + "/report.json");
  ASSERT_TRUE(report.is_object());
  EXPECT_TRUE(report["complete"].get<bool>());
  EXPECT_EQ(report["summary"]["fail"], 0);
  EXPECT_EQ(report["summary"]["skip"], 0);
  EXPECT_GT(report["summary"]["pass"].get<int>(), 80);
  for (const char* key : {"host", "polyarch", "qemu", "binfmt", "images", "layers"}) {
    EXPECT_TRUE(report["context"].contains(key)) << key;
  }
  EXPECT_TRUE(report["sections"]["cleanup"]["ok"].get<bool>())
      << report["sections"]["cleanup"].dump();
  EXPECT_NE(FindCase(report, "crossarch/crun/s390x/probe_info_matches_native"), nullptr);
  // The validators the golden tests use: the JSON Schema, a JUnit XSD, a self-contained page.
  ExpectReportsValidate(reports);
  // Nothing of the run is left: its directory is gone.
  std::string run_id = report["context"]["polyarch"]["run_id"];
  EXPECT_FALSE(PathExists("/var/lib/polyarch/runs/" + run_id));
}

// A runtime that lies about state: the cases that check it fail with the reason, exit 1.
// A runc that reports every created container as running, in `dir`; "" when runc is missing.
std::string LyingRunc(const std::string& dir) {
  auto runc = FindProgram("runc");
  if (!runc.ok()) return "";
  const std::string wrapper = dir + "/lying-runc";
  Status s = WriteFileAtomic(wrapper,
                             "#!/bin/sh\n"
                             "# Reports every created container as running.\n"
                             "for a in \"$@\"; do [ \"$a\" = state ] && is_state=1; done\n"
                             "if [ -n \"$is_state\" ]; then\n"
                             "  " +
                                 *runc +
                                 " \"$@\" | sed 's/\"status\": *\"created\"/\"status\": "
                                 "\"running\"/'\n"
                                 "  exit 0\n"
                                 "fi\n"
                                 "exec " +
                                 *runc + " \"$@\"\n",
                             0755);
  return s.ok() ? wrapper : "";
}

TEST_F(RunIntegrationTest, ABrokenLayerFailsTheRightCases) {
  const std::string wrapper = LyingRunc(dir_->path());
  ASSERT_FALSE(wrapper.empty());
  const std::string reports = dir_->path() + "/reports";
  auto r =
      RunPolyarch({"run", "--layer", "runc", "--arch", "amd64", "--suite", "lifecycle",
                   "--runtime-binary", "runc=" + wrapper, "--report-dir", reports, "--no-color"},
                  std::chrono::seconds(600));
  EXPECT_EQ(r.exit_code, 1) << r.out.Text() << r.err.Text();
  json report = ReadJson(reports + "/report.json");
  ASSERT_TRUE(report.is_object());
  const json* c = FindCase(report, "lifecycle/runc/amd64/create_reports_created");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ((*c)["status"], "fail");
  EXPECT_NE((*c)["reason"].get<std::string>().find("'running', expected 'created'"),
            std::string::npos)
      << (*c)["reason"];
  const json* ok = FindCase(report, "lifecycle/runc/amd64/exit_code_42");
  ASSERT_NE(ok, nullptr);
  EXPECT_EQ((*ok)["status"], "pass") << "cases that do not look at the lie still pass";
  EXPECT_NE(r.out.Text().find("create_reports_created"), std::string::npos);
}

// An engine over a runtime that cannot run a container here (crun 1.8 on a hybrid cgroup
// layout before `doctor --fix`; here a binary that always fails) is not a wall of failures:
// the layer is unavailable and its cases are skipped, saying which runtime and why, as the
// runtime's own layer would be.
TEST_F(RunIntegrationTest, AnEngineOverARuntimeThatCannotRunIsSkippedSayingWhy) {
  const std::string reports = dir_->path() + "/reports";
  auto r = RunPolyarch(
      {"run", "--layer", "containerd:crun,docker:crun", "--arch", "amd64", "--suite", "lifecycle",
       "--filter", "exit_code_*", "--runtime-binary", "containerd:crun=/bin/false",
       "--runtime-binary", "docker:crun=/bin/false", "--report-dir", reports, "--no-color"},
      std::chrono::seconds(600));
  EXPECT_EQ(r.exit_code, 0) << r.out.Text() << r.err.Text();
  json report = ReadJson(reports + "/report.json");
  ASSERT_TRUE(report.is_object());
  ASSERT_FALSE(report["cases"].empty());
  std::set<std::string> layers;
  for (const auto& c : report["cases"]) {
    layers.insert(c["layer"].get<std::string>());
    EXPECT_EQ(c["status"], "skip") << c["id"];
    EXPECT_NE(c["reason"].get<std::string>().find("crun could not run a test container"),
              std::string::npos)
        << c["reason"];
  }
  EXPECT_EQ(layers, (std::set<std::string>{"containerd:crun", "docker:crun"}));
}

// Known deviations end to end. The broken layer's failure, listed in an expectations file, is
// xfail in every report and the run exits 0, --strict or not; an entry that matches nothing is
// a warning.
TEST_F(RunIntegrationTest, AListedFailureIsXfailAndDoesNotFailTheRun) {
  const std::string wrapper = LyingRunc(dir_->path());
  ASSERT_FALSE(wrapper.empty());
  const std::string known = dir_->path() + "/known.json";
  ASSERT_TRUE(WriteFileAtomic(known, R"({"version": 1, "expectations": [
      {"cases": "lifecycle/runc/*/create_reports_created", "arches": ["amd64"],
       "reason": "the wrapper reports created containers as running",
       "reference": "https://example.org/lying-runc"},
      {"cases": "spec/**", "reason": "not in this run", "reference": "OCI runtime-spec"}]})")
                  .ok());
  const std::string reports = dir_->path() + "/reports";
  auto r = RunPolyarch({"run", "--layer", "runc", "--arch", "amd64", "--suite", "lifecycle",
                        "--filter", "create_reports_created", "--runtime-binary", "runc=" + wrapper,
                        "--expectations", known, "--strict", "--report-dir", reports, "--no-color"},
                       std::chrono::seconds(600));
  EXPECT_EQ(r.exit_code, 0) << r.out.Text() << r.err.Text();
  json report = ReadJson(reports + "/report.json");
  ASSERT_TRUE(report.is_object());
  const json* c = FindCase(report, "lifecycle/runc/amd64/create_reports_created");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ((*c)["status"], "xfail");
  const std::string reason = (*c)["reason"];
  EXPECT_EQ(reason.rfind("known deviation: the wrapper reports created containers as running "
                         "[https://example.org/lying-runc] (" +
                             known + ":entry 1); observed: ",
                         0),
            0u)
      << reason;
  EXPECT_NE(reason.find("'running', expected 'created'"), std::string::npos) << reason;
  EXPECT_EQ(report["summary"]["xfail"], 1);
  EXPECT_EQ(report["summary"]["fail"], 0);
  const json& section = report["sections"]["expectations"];
  ASSERT_EQ(section["files"].size(), 2u) << section.dump();
  EXPECT_EQ(section["files"][0]["builtin"], true);
  EXPECT_EQ(section["files"][1], json({{"path", known}, {"builtin", false}, {"entries", 2}}));
  EXPECT_EQ(section["unused"],
            json::array({{{"source", known + ":entry 2"}, {"cases", "spec/**"}}}));
  EXPECT_NE(r.out.Text().find("warning: 1 expectations entry matched no case in this run: " +
                              known + ":entry 2 (spec/**)"),
            std::string::npos)
      << r.out.Text();
  auto junit = ReadFile(reports + "/junit.xml");
  ASSERT_TRUE(junit.ok());
  EXPECT_NE(junit->find("<skipped message=\"xfail: known deviation: "), std::string::npos);
  // The reference's URL in the page's text loads nothing: the page is still self-contained.
  ExpectReportsValidate(reports);
}

// A listed case that passes is xpass: the entry is stale, and --strict fails the run for it.
TEST_F(RunIntegrationTest, AListedCaseThatPassesFailsAStrictRun) {
  const std::string known = dir_->path() + "/known.json";
  ASSERT_TRUE(WriteFileAtomic(known, R"({"version": 1, "expectations": [
      {"cases": "lifecycle/*/*/exit_code_42", "layers": ["runc"], "reason": "once broken",
       "reference": "OCI runtime-spec runtime.md#state"}]})")
                  .ok());
  const std::string reports = dir_->path() + "/reports";
  auto r =
      RunPolyarch({"run", "--layer", "runc", "--arch", "amd64", "--suite", "lifecycle", "--filter",
                   "exit_code_42", "--expectations", known, "--no-builtin-expectations", "--strict",
                   "--report-dir", reports, "--no-color"},
                  std::chrono::seconds(600));
  EXPECT_EQ(r.exit_code, 1) << r.out.Text() << r.err.Text();
  json report = ReadJson(reports + "/report.json");
  ASSERT_TRUE(report.is_object());
  const json* c = FindCase(report, "lifecycle/runc/amd64/exit_code_42");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ((*c)["status"], "xpass");
  EXPECT_EQ(report["exit_reasons"],
            json::array({"--strict: 1 case passed that expectations list as known deviations "
                         "(stale entries): lifecycle/runc/amd64/exit_code_42 (" +
                         known + ":entry 1)"}));
  EXPECT_EQ(report["sections"]["expectations"]["files"].size(), 1u)
      << "--no-builtin-expectations leaves the built-in set out";
  EXPECT_NE(r.out.Text().find("XPASS    lifecycle/runc/amd64/exit_code_42"), std::string::npos)
      << r.out.Text();
}

// Runs polyarch in a mount namespace of its own, after `prepare` (a shell snippet) ran there:
// what the test unmounts or mounts stays in that namespace and goes with it.
ProcessResult RunPolyarchInPrivateMounts(const std::string& prepare,
                                         std::vector<std::string> args) {
  std::vector<std::string> argv = {"/usr/bin/unshare",
                                   "--mount",
                                   "--propagation",
                                   "private",
                                   "/bin/sh",
                                   "-c",
                                   prepare + " && exec \"$0\" \"$@\"",
                                   testing::kPolyarchBinary};
  argv.insert(argv.end(), args.begin(), args.end());
  SpawnOptions o;
  o.argv = argv;
  o.capture_head_bytes = 4 << 20;
  auto r = RunProcess(o, std::chrono::seconds(900));
  if (!r.ok()) {
    ProcessResult failed;
    failed.err.head = r.status().ToString();
    return failed;
  }
  return *r;
}

// A fresh machine has binfmt_misc unmounted. The run mounts it to register the emulators and
// leaves it mounted, as documented: that is not a leak, so a run whose cases pass exits 0 and
// its page is green.
TEST_F(RunIntegrationTest, AFirstRunOnAHostWithoutBinfmtMiscExitsZero) {
  const std::string reports = dir_->path() + "/reports";
  auto r = RunPolyarchInPrivateMounts(
      "if grep -q ' /proc/sys/fs/binfmt_misc ' /proc/self/mountinfo; then "
      "umount /proc/sys/fs/binfmt_misc; fi",
      {"run", "--layer", "runc", "--arch", "amd64,s390x", "--suite", "crossarch", "--strict",
       "--no-color", "--report-dir", reports});
  EXPECT_EQ(r.exit_code, 0) << r.out.Text() << r.err.Text();
  json report = ReadJson(reports + "/report.json");
  ASSERT_TRUE(report.is_object());
  const json& cleanup = report["sections"]["cleanup"];
  EXPECT_TRUE(cleanup["ok"].get<bool>()) << cleanup.dump();
  EXPECT_EQ(cleanup["mounts_kept_by_design"],
            json::array({"/proc/sys/fs/binfmt_misc (binfmt_misc)"}))
      << cleanup.dump();
  EXPECT_EQ(cleanup["mounts_added"], json::array()) << cleanup.dump();
  EXPECT_EQ(report["exit_code"], 0);
  EXPECT_EQ(report["exit_reasons"], json::array());
  auto html = ReadFile(reports + "/report.html");
  ASSERT_TRUE(html.ok());
  EXPECT_NE(html->find("banner ok"), std::string::npos);
}

// A mount the run really leaves behind fails it, and the reason names the mount: here a
// runtime wrapper mounts a tmpfs on every delete and never unmounts it.
TEST_F(RunIntegrationTest, AMountLeftBehindFailsTheRunAndIsNamed) {
  auto runc = FindProgram("runc");
  ASSERT_TRUE(runc.ok());
  // The leak goes next to the run's directory, in the state directory the run answers for:
  // the runtime's --root is <run dir>/runc/state, so the runs directory is three levels up.
  // The wrapper writes down where it mounted; the mount dies with the private namespace.
  const std::string where = dir_->path() + "/leak-path";
  const std::string wrapper = dir_->path() + "/leaky-runc";
  ASSERT_TRUE(WriteFileAtomic(wrapper,
                              "#!/bin/sh\n"
                              "prev=\n"
                              "for a in \"$@\"; do\n"
                              "  [ \"$prev\" = --root ] && root=$a\n"
                              "  [ \"$a\" = delete ] && is_delete=1\n"
                              "  prev=$a\n"
                              "done\n"
                              "leak=$(dirname \"$(dirname \"$(dirname \"$root\")\")\")/leak-$PPID\n"
                              "if [ -n \"$is_delete\" ] && [ ! -e " +
                                  where +
                                  " ]; then\n"
                                  "  mkdir -p \"$leak\" && mount -t tmpfs leak \"$leak\" && "
                                  "echo \"$leak\" > " +
                                  where +
                                  "\n"
                                  "fi\n"
                                  "exec " +
                                  *runc + " \"$@\"\n",
                              0755)
                  .ok());
  const std::string reports = dir_->path() + "/reports";
  auto r = RunPolyarchInPrivateMounts(
      "true", {"run", "--layer", "runc", "--arch", "amd64", "--suite", "lifecycle", "--filter",
               "exit_code_0", "--runtime-binary", "runc=" + wrapper, "--no-color", "--report-dir",
               reports});
  EXPECT_EQ(r.exit_code, 1) << r.out.Text() << r.err.Text();
  auto written = ReadFile(where);
  ASSERT_TRUE(written.ok()) << "the wrapper never mounted";
  const std::string leak(Trim(*written));
  (void)RemoveTree(leak);  // the mount went with the namespace; the directory stays
  json report = ReadJson(reports + "/report.json");
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report["summary"]["pass"], 1) << "the case itself passes";
  const json& cleanup = report["sections"]["cleanup"];
  EXPECT_FALSE(cleanup["ok"].get<bool>());
  EXPECT_EQ(cleanup["mounts_added"], json::array({leak + " (tmpfs)"})) << cleanup.dump();
  ASSERT_EQ(report["exit_reasons"].size(), 1u) << report["exit_reasons"];
  EXPECT_NE(
      report["exit_reasons"][0].get<std::string>().find("mount " + leak + " (tmpfs) was left"),
      std::string::npos)
      << report["exit_reasons"];
  auto html = ReadFile(reports + "/report.html");
  ASSERT_TRUE(html.ok());
  EXPECT_EQ(html->find("banner ok"), std::string::npos);
  EXPECT_NE(html->find(leak + " (tmpfs) was left"), std::string::npos);
  EXPECT_NE(r.out.Text().find("exit code 1: cleanup did not restore the host"), std::string::npos)
      << r.out.Text();
}

// The probe record is the stack's answer: a runtime whose exec prints a record of the wrong
// shape fails the cases that read it, each naming the field, and the run goes on to the end.
TEST_F(RunIntegrationTest, AProbeRecordOfTheWrongShapeFailsItsCasesNotTheRun) {
  auto runc = FindProgram("runc");
  ASSERT_TRUE(runc.ok());
  const std::string wrapper = dir_->path() + "/odd-runc";
  ASSERT_TRUE(WriteFileAtomic(wrapper,
                              "#!/bin/sh\n"
                              "# exec of the probe's info prints a record of the wrong shape,\n"
                              "# as if the process had run (its pid file written).\n"
                              "prev=; pidfile=\n"
                              "for a in \"$@\"; do\n"
                              "  [ \"$prev\" = --pid-file ] && pidfile=$a\n"
                              "  [ \"$a\" = exec ] && is_exec=1\n"
                              "  [ -n \"$is_exec\" ] && [ \"$a\" = info ] && is_info=1\n"
                              "  prev=$a\n"
                              "done\n"
                              "if [ -n \"$is_info\" ]; then\n"
                              "  [ -n \"$pidfile\" ] && echo $$ > \"$pidfile\"\n"
                              "  echo '{\"machine\": 5, \"endianness\": [\"big\"], "
                              "\"pointer_bits\": \"64\"}'\n"
                              "  exit 0\n"
                              "fi\n"
                              "exec " +
                                  *runc + " \"$@\"\n",
                              0755)
                  .ok());
  const std::string reports = dir_->path() + "/reports";
  auto r =
      RunPolyarch({"run", "--suite", "crossarch", "--layer", "runc", "--arch", "amd64,s390x",
                   "--runtime-binary", "runc=" + wrapper, "--report-dir", reports, "--no-color"},
                  std::chrono::seconds(600));
  EXPECT_EQ(r.exit_code, 1) << r.out.Text() << r.err.Text();
  json report = ReadJson(reports + "/report.json");
  ASSERT_TRUE(report.is_object());
  EXPECT_TRUE(report["complete"].get<bool>());
  EXPECT_TRUE(report["sections"]["cleanup"]["ok"].get<bool>()) << report["sections"]["cleanup"];
  const json* info = FindCase(report, "crossarch/runc/s390x/probe_info_matches_native");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ((*info)["status"], "fail");
  const std::string reason = (*info)["reason"];
  EXPECT_NE(reason.find("field 'machine' is a number (5), expected a string"), std::string::npos)
      << reason;
  EXPECT_NE(reason.find("field 'endianness' is an array"), std::string::npos) << reason;
  EXPECT_NE(reason.find("field 'pointer_bits' is a string (\"64\")"), std::string::npos) << reason;
  const json* argv0 = FindCase(report, "crossarch/runc/amd64/argv0_as_binfmt_flags_say");
  ASSERT_NE(argv0, nullptr);
  EXPECT_EQ((*argv0)["status"], "fail");
  EXPECT_NE((*argv0)["reason"].get<std::string>().find("field 'argv0' is missing"),
            std::string::npos);
  // Cases that do not read the record pass.
  const json* latency = FindCase(report, "crossarch/runc/s390x/start_latency");
  ASSERT_NE(latency, nullptr);
  EXPECT_EQ((*latency)["status"], "pass");
}

// The state of a container whose process has exited is "stopped": a runtime that says
// "running" instead fails exactly the cases that look, with the reason.
TEST_F(RunIntegrationTest, ARuntimeThatNeverSaysStoppedFailsExactlyTheStoppedStateCases) {
  auto runc = FindProgram("runc");
  ASSERT_TRUE(runc.ok());
  const std::string wrapper = dir_->path() + "/never-stopped-runc";
  ASSERT_TRUE(WriteFileAtomic(wrapper,
                              "#!/bin/sh\n"
                              "for a in \"$@\"; do [ \"$a\" = state ] && is_state=1; done\n"
                              "if [ -n \"$is_state\" ]; then\n"
                              "  out=$(" +
                                  *runc +
                                  " \"$@\") || exit $?\n"
                                  "  printf '%s\\n' \"$out\" | sed "
                                  "'s/\"status\": *\"stopped\"/\"status\": \"running\"/'\n"
                                  "  exit 0\n"
                                  "fi\n"
                                  "exec " +
                                  *runc + " \"$@\"\n",
                              0755)
                  .ok());
  const std::string reports = dir_->path() + "/reports";
  auto r =
      RunPolyarch({"run", "--layer", "runc", "--arch", "amd64", "--suite", "lifecycle",
                   "--runtime-binary", "runc=" + wrapper, "--report-dir", reports, "--no-color"},
                  std::chrono::seconds(600));
  EXPECT_EQ(r.exit_code, 1) << r.out.Text() << r.err.Text();
  json report = ReadJson(reports + "/report.json");
  ASSERT_TRUE(report.is_object());
  std::set<std::string> failed;
  // Every case that asks for the state of a stopped container (a listed deviation stays xfail).
  for (const auto& c : report["cases"]) {
    if (c["status"] == "fail") failed.insert(c["name"].get<std::string>());
  }
  EXPECT_EQ(failed, (std::set<std::string>{"state_stopped_after_exit", "state_stopped_after_kill",
                                           "kill_created_stops_it", "kill_stopped_refused"}));
  for (const char* name : {"state_stopped_after_exit", "state_stopped_after_kill"}) {
    const json* c = FindCase(report, std::string("lifecycle/runc/amd64/") + name);
    ASSERT_NE(c, nullptr) << name;
    EXPECT_NE((*c)["reason"].get<std::string>().find("'running', expected 'stopped'"),
              std::string::npos)
        << (*c)["reason"];
  }
}

TEST_F(RunIntegrationTest, BadPlansAreRefusedBeforeAnythingHappens) {
  const std::string file = dir_->path() + "/plan.yaml";
  ASSERT_TRUE(WriteFileAtomic(file, "suites: [lifecycle]\nlayers: [runc, kata]\n").ok());
  auto r = RunPolyarch({"run", "--suite-file", file});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.Text().find(file + ":2: unknown layer 'kata'"), std::string::npos)
      << r.err.Text();
  EXPECT_EQ(RunPolyarch({"run", "--arch", "sparc9"}).exit_code, 2);
  EXPECT_EQ(RunPolyarch({"run", "--layer", "lxc"}).exit_code, 2);
  EXPECT_EQ(RunPolyarch({"run", "--docker-host", "tcp://127.0.0.1:2375"}).exit_code, 2);
  // An expectations file with a typo names the file, the entry and the key.
  const std::string known = dir_->path() + "/known.json";
  ASSERT_TRUE(WriteFileAtomic(known, R"({"version": 1, "expectations": [
      {"case": "lifecycle/*/*/x", "reason": "r", "reference": "x"}]})")
                  .ok());
  auto typo = RunPolyarch({"run", "--expectations", known});
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_NE(typo.err.Text().find(known + ":entry 1: unknown key 'case'"), std::string::npos)
      << typo.err.Text();
}

}  // namespace
}  // namespace polyarch

namespace polyarch {
namespace {

// SIGINT mid-run: the run stops taking cases, cleans up, leaves a report marked incomplete
// and exits 4.
TEST(RunInterruptTest, SigintCleansUpAndLeavesAnIncompleteReport) {
  auto d = TempDir::Create("polyarch-run-int-");
  ASSERT_TRUE(d.ok());
  const std::string reports = d->path() + "/reports";
  SpawnOptions o;
  o.argv = {testing::kPolyarchBinary,
            "run",
            "--layer",
            "runc,containerd",
            "--arch",
            "amd64",
            "--suite",
            "lifecycle",
            "--no-color",
            "--report-dir",
            reports};
  auto p = Subprocess::Start(o);
  ASSERT_TRUE(p.ok());
  // Wait until some cases have finished, as the report shows.
  nlohmann::json report;
  for (int i = 0; i < 600; ++i) {
    auto text = ReadFile(reports + "/report.json");
    if (text.ok()) {
      report = nlohmann::json::parse(*text, nullptr, false);
      if (report.is_object() && report["cases"].size() >= 5) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(report.is_object() && report["cases"].size() >= 5) << "the run never got going";
  ASSERT_TRUE((*p)->Signal(SIGINT).ok());
  const ProcessResult& r = (*p)->Wait(std::chrono::seconds(120));
  EXPECT_FALSE(r.timed_out) << "the interrupted run did not finish";
  EXPECT_EQ(r.exit_code, 4) << r.out.Text() << r.err.Text();
  auto text = ReadFile(reports + "/report.json");
  ASSERT_TRUE(text.ok());
  report = nlohmann::json::parse(*text, nullptr, false);
  ASSERT_TRUE(report.is_object());
  EXPECT_FALSE(report["complete"].get<bool>());
  EXPECT_NE(report["incomplete_reason"].get<std::string>().find("INT"), std::string::npos);
  EXPECT_EQ(report["exit_code"], 4);
  EXPECT_TRUE(report["sections"]["cleanup"]["ok"].get<bool>()) << report["sections"]["cleanup"];
  std::string run_id = report["context"]["polyarch"]["run_id"];
  EXPECT_FALSE(PathExists("/var/lib/polyarch/runs/" + run_id));
  EXPECT_NE(r.out.Text().find("INCOMPLETE"), std::string::npos) << r.out.Text();
}

}  // namespace
}  // namespace polyarch
