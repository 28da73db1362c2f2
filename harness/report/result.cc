#include "harness/report/result.h"

namespace polyarch {

using nlohmann::json;

std::string_view CaseStatusName(CaseStatus s) {
  switch (s) {
    case CaseStatus::kPass: return "pass";
    case CaseStatus::kFail: return "fail";
    case CaseStatus::kSkip: return "skip";
    case CaseStatus::kError: return "error";
    case CaseStatus::kAborted: return "aborted";
  }
  return "error";
}

bool ParseCaseStatus(std::string_view name, CaseStatus* out) {
  for (CaseStatus s : {CaseStatus::kPass, CaseStatus::kFail, CaseStatus::kSkip, CaseStatus::kError,
                       CaseStatus::kAborted}) {
    if (CaseStatusName(s) == name) {
      *out = s;
      return true;
    }
  }
  return false;
}

std::string CaseResult::Id() const {
  std::string id = suite + "/" + layer + "/" + arch + "/" + name;
  if (repeat > 0) id += "#" + std::to_string(repeat + 1);
  return id;
}

Summary Summarize(const std::vector<CaseResult>& cases) {
  Summary s;
  for (const auto& c : cases) {
    ++s.total;
    s.duration_ns += c.duration_ns;
    switch (c.status) {
      case CaseStatus::kPass: ++s.pass; break;
      case CaseStatus::kFail: ++s.fail; break;
      case CaseStatus::kSkip: ++s.skip; break;
      case CaseStatus::kError: ++s.error; break;
      case CaseStatus::kAborted: ++s.aborted; break;
    }
  }
  return s;
}

json CaseToJson(const CaseResult& c) {
  json steps = json::array();
  for (const auto& s : c.steps) {
    json j = {{"name", s.name}, {"operation", s.operation}, {"duration_ns", s.duration_ns},
              {"ok", s.ok}};
    if (!s.error.empty()) j["error"] = s.error;
    if (!s.output.empty()) j["output"] = s.output;
    steps.push_back(std::move(j));
  }
  json j = {{"id", c.Id()},          {"suite", c.suite},   {"layer", c.layer},
            {"arch", c.arch},        {"name", c.name},     {"repeat", c.repeat},
            {"spec_ref", c.spec_ref}, {"status", CaseStatusName(c.status)},
            {"reason", c.reason},    {"duration_ns", c.duration_ns},
            {"steps", steps},        {"metrics", c.metrics}};
  if (!c.data.empty()) j["data"] = c.data;
  return j;
}

namespace {

bool Fail(std::string* error, const std::string& msg) {
  if (error) *error = msg;
  return false;
}

}  // namespace

bool CaseFromJson(const json& j, CaseResult* c, std::string* error) {
  if (!j.is_object()) return Fail(error, "case: not an object");
  for (const char* f : {"suite", "layer", "arch", "name", "status"}) {
    if (!j.contains(f) || !j[f].is_string()) {
      return Fail(error, std::string("case: field '") + f + "' missing or not a string");
    }
  }
  c->suite = j["suite"];
  c->layer = j["layer"];
  c->arch = j["arch"];
  c->name = j["name"];
  if (!ParseCaseStatus(j["status"].get<std::string>(), &c->status)) {
    return Fail(error, "case " + c->name + ": unknown status '" + j["status"].get<std::string>() + "'");
  }
  c->repeat = j.value("repeat", 0);
  c->spec_ref = j.value("spec_ref", "");
  c->reason = j.value("reason", "");
  c->duration_ns = j.value("duration_ns", int64_t{0});
  if (j.contains("metrics") && j["metrics"].is_object()) {
    for (const auto& [k, v] : j["metrics"].items()) {
      if (v.is_number()) c->metrics[k] = v.get<double>();
    }
  }
  if (j.contains("steps") && j["steps"].is_array()) {
    for (const auto& s : j["steps"]) {
      if (!s.is_object()) continue;
      StepRecord r;
      r.name = s.value("name", "");
      r.operation = s.value("operation", "");
      r.duration_ns = s.value("duration_ns", int64_t{0});
      r.ok = s.value("ok", true);
      r.error = s.value("error", "");
      r.output = s.value("output", "");
      c->steps.push_back(std::move(r));
    }
  }
  if (j.contains("data")) c->data = j["data"];
  return true;
}

json ReportToJson(const RunReport& r) {
  json cases = json::array();
  for (const auto& c : r.cases) cases.push_back(CaseToJson(c));
  Summary s = Summarize(r.cases);
  return {{"schema_version", kReportSchemaVersion},
          {"kind", "polyarch.report"},
          {"complete", r.complete},
          {"incomplete_reason", r.incomplete_reason},
          {"started_at", r.started_at},
          {"finished_at", r.finished_at},
          {"exit_code", r.exit_code},
          {"context", r.context},
          {"cases", cases},
          {"sections", r.sections},
          {"summary",
           {{"total", s.total},
            {"pass", s.pass},
            {"fail", s.fail},
            {"skip", s.skip},
            {"error", s.error},
            {"aborted", s.aborted},
            {"duration_ns", s.duration_ns}}}};
}

bool ReportFromJson(const json& j, RunReport* r, std::string* error) {
  if (!j.is_object()) return Fail(error, "report: not a JSON object");
  if (j.value("kind", "") != "polyarch.report") return Fail(error, "report: kind is not polyarch.report");
  if (j.value("schema_version", 0) != kReportSchemaVersion) {
    return Fail(error, "report: schema_version " + j.value("schema_version", json()).dump() +
                           " is not " + std::to_string(kReportSchemaVersion));
  }
  if (!j.contains("cases") || !j["cases"].is_array()) return Fail(error, "report: no cases array");
  r->complete = j.value("complete", false);
  r->incomplete_reason = j.value("incomplete_reason", "");
  r->started_at = j.value("started_at", "");
  r->finished_at = j.value("finished_at", "");
  r->exit_code = j.value("exit_code", 0);
  r->context = j.value("context", json::object());
  r->sections = j.value("sections", json::object());
  r->cases.clear();
  for (size_t i = 0; i < j["cases"].size(); ++i) {
    CaseResult c;
    std::string e;
    if (!CaseFromJson(j["cases"][i], &c, &e)) return Fail(error, "cases[" + std::to_string(i) + "]: " + e);
    r->cases.push_back(std::move(c));
  }
  return true;
}

}  // namespace polyarch
