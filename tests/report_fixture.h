// The report every reporter test formats: two suites, two layers, two arches, every status
// (a known deviation and a stale expectation among them), output with quotes, <, &, newlines,
// invalid UTF-8 and a control character, throughput, crossarch and expectations sections, a
// warning, fixed timestamps. The golden files in tests/golden are its rendering.
#ifndef POLYARCH_TESTS_REPORT_FIXTURE_H_
#define POLYARCH_TESTS_REPORT_FIXTURE_H_

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/report/result.h"
#include "harness/report/stats.h"

namespace polyarch::testing {

using nlohmann::json;

// Text the stack might print: quotes, markup, an ampersand, a newline, bytes that are not
// UTF-8 and a control character.
inline const std::string kNastyOutput =
    "runc: \"state\" <created> & more\nsecond line \xff\xfe and \x01 control";

inline constexpr int64_t kMs = 1000 * 1000;

inline StepRecord Step(const std::string& name, const std::string& op, double ms, bool ok = true,
                       const std::string& error = "", const std::string& output = "") {
  return {name, op, static_cast<int64_t>(ms * kMs), ok, error, output};
}

inline CaseResult Case(const std::string& suite, const std::string& layer, const std::string& arch,
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

inline std::vector<StepRecord> Lifecycle(const std::string& layer, double create, double start,
                                         double wait, double del) {
  bool oci = layer == "runc" || layer == "crun";
  return {Step("create", oci ? layer + " create" : "Containers.Create+Tasks.Create", create),
          Step("start", oci ? layer + " start" : "Tasks.Start", start),
          Step("wait", oci ? layer + " state (poll)" : "Tasks.Wait", wait),
          Step("delete", oci ? layer + " delete" : "Tasks.Delete+Containers.Delete", del)};
}

inline json Dist(std::vector<double> v) {
  return DistributionJson(ComputeDistribution(std::move(v)));
}

inline json ThroughputRow(const std::string& layer, const std::string& arch, int k, double rate,
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

inline RunReport Fixture() {
  RunReport r;
  r.started_at = "2024-05-01T12:00:00Z";
  r.finished_at = "2024-05-01T12:03:21Z";
  r.complete = true;
  r.exit_code = 1;
  r.exit_reasons = {"4 of 15 cases did not pass (2 failed, 1 errored, 1 aborted)"};
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

  // A known deviation and a stale expectation, as ApplyExpectations writes them.
  CaseResult xfail =
      Case("lifecycle", "runc", "s390x", "kill_term_exits_143", CaseStatus::kXfail,
           "known deviation: the emulated process's exit status after SIGTERM is 0 "
           "[OCI runtime-spec runtime.md#kill] (suites/expectations.json:entry 1); observed: "
           "exit code 0, want 143",
           {Step("create", "runc create", 50), Step("start", "runc start", 14),
            Step("kill 15", "runc kill 15", 3),
            Step("wait", "runc state (poll)", 40, false, "exit code 0, want 143")});
  xfail.spec_ref = "OCI runtime-spec runtime.md#kill";
  r.cases.push_back(xfail);
  r.cases.push_back(Case("lifecycle", "containerd", "amd64", "kill_term_exits_143",
                         CaseStatus::kXpass,
                         "passed although suites/expectations.json:entry 2 lists it as a known "
                         "deviation (the task's exit status after SIGTERM is lost "
                         "[https://example.org/containerd/exit-status]): the entry is stale; "
                         "remove or narrow it",
                         Lifecycle("containerd", 120, 38, 9, 70)));
  r.sections["expectations"] = {
      {"files",
       json::array({{{"path", "suites/expectations.json"}, {"builtin", true}, {"entries", 2}},
                    {{"path", "/etc/polyarch/site.json"}, {"builtin", false}, {"entries", 1}}})},
      {"unused", json::array({{{"source", "/etc/polyarch/site.json:entry 1"},
                               {"cases", "spec/*/*/process_rlimits_*"}}})},
      {"xfail", 1},
      {"xpass", 1}};
  r.sections["warnings"] = json::array(
      {"1 case passed that expectations list as known deviations (stale entries; --strict fails "
       "the run): lifecycle/containerd/amd64/kill_term_exits_143 (suites/expectations.json:entry "
       "2)",
       "1 expectations entry matched no case in this run: /etc/polyarch/site.json:entry 1 "
       "(spec/*/*/process_rlimits_*)"});

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
inline RunReport FixtureWithRefusalAndNotes() {
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

// How many times `needle` occurs in `haystack`.
inline size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

}  // namespace polyarch::testing

#endif  // POLYARCH_TESTS_REPORT_FIXTURE_H_
