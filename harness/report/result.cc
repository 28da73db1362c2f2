#include "harness/report/result.h"

#include "harness/core/json_int.h"

namespace polyarch {

using nlohmann::json;

std::string_view CaseStatusName(CaseStatus s) {
  switch (s) {
    case CaseStatus::kPass:
      return "pass";
    case CaseStatus::kFail:
      return "fail";
    case CaseStatus::kSkip:
      return "skip";
    case CaseStatus::kError:
      return "error";
    case CaseStatus::kAborted:
      return "aborted";
    case CaseStatus::kXfail:
      return "xfail";
    case CaseStatus::kXpass:
      return "xpass";
  }
  return "error";
}

bool ParseCaseStatus(std::string_view name, CaseStatus* out) {
  for (CaseStatus s : {CaseStatus::kPass, CaseStatus::kFail, CaseStatus::kSkip, CaseStatus::kError,
                       CaseStatus::kAborted, CaseStatus::kXfail, CaseStatus::kXpass}) {
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
    ++CounterOf(s, c.status);
  }
  return s;
}

std::string StepVerb(const StepRecord& s) {
  if (!s.verb.empty()) return s.verb;
  for (const char* whole : {"cleanup delete --force", "delete --force"}) {
    if (s.name == whole) return whole;
  }
  return s.name.substr(0, s.name.find(' '));
}

json CaseToJson(const CaseResult& c) {
  json steps = json::array();
  for (const auto& s : c.steps) {
    json j = {{"name", s.name},
              {"verb", StepVerb(s)},
              {"operation", s.operation},
              {"duration_ns", s.duration_ns},
              {"ok", s.ok}};
    if (s.expected_refusal) j["expected_refusal"] = true;
    if (!s.error.empty()) j["error"] = s.error;
    if (!s.output.empty()) j["output"] = s.output;
    steps.push_back(std::move(j));
  }
  json j = {{"id", c.Id()},           {"suite", c.suite},
            {"layer", c.layer},       {"arch", c.arch},
            {"name", c.name},         {"repeat", c.repeat},
            {"spec_ref", c.spec_ref}, {"status", CaseStatusName(c.status)},
            {"reason", c.reason},     {"duration_ns", c.duration_ns},
            {"steps", steps},         {"metrics", c.metrics}};
  if (!c.data.empty()) j["data"] = c.data;
  return j;
}

namespace {

bool Fail(std::string* error, const std::string& msg) {
  if (error) *error = msg;
  return false;
}

// Optional fields, read without nlohmann's value(), which throws type_error when a field is
// there with another type: a report is a file users keep and edit, and a wrong type must be
// refused with the field named. A missing field keeps the default in *out.
bool OptionalString(const json& j, const char* key, std::string* out, const std::string& where,
                    std::string* error) {
  auto it = j.find(key);
  if (it == j.end()) return true;
  if (!it->is_string()) return Fail(error, where + ": field '" + key + "' is not a string");
  *out = it->get<std::string>();
  return true;
}

bool OptionalBool(const json& j, const char* key, bool* out, const std::string& where,
                  std::string* error) {
  auto it = j.find(key);
  if (it == j.end()) return true;
  if (!it->is_boolean()) return Fail(error, where + ": field '" + key + "' is not true or false");
  *out = it->get<bool>();
  return true;
}

template <typename Int>
bool OptionalInt(const json& j, const char* key, Int* out, const std::string& where,
                 std::string* error) {
  auto it = j.find(key);
  if (it == j.end()) return true;
  std::optional<Int> v = JsonInteger<Int>(*it);
  if (!v) return Fail(error, where + ": field '" + key + "' is not an integer in range");
  *out = *v;
  return true;
}

}  // namespace

namespace {

bool ReadCase(const json& j, CaseResult* c, std::string* error) {
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
    return Fail(error,
                "case " + c->name + ": unknown status '" + j["status"].get<std::string>() + "'");
  }
  const std::string where = "case " + c->name;
  c->repeat = 0;
  c->spec_ref.clear();
  c->reason.clear();
  c->duration_ns = 0;
  if (!OptionalInt(j, "repeat", &c->repeat, where, error) ||
      !OptionalString(j, "spec_ref", &c->spec_ref, where, error) ||
      !OptionalString(j, "reason", &c->reason, where, error) ||
      !OptionalInt(j, "duration_ns", &c->duration_ns, where, error)) {
    return false;
  }
  if (j.contains("metrics") && j["metrics"].is_object()) {
    for (const auto& [k, v] : j["metrics"].items()) {
      if (v.is_number()) c->metrics[k] = v.get<double>();
    }
  }
  if (j.contains("steps") && j["steps"].is_array()) {
    for (size_t i = 0; i < j["steps"].size(); ++i) {
      const json& s = j["steps"][i];
      if (!s.is_object()) continue;
      const std::string step = where + ": steps[" + std::to_string(i) + "]";
      StepRecord r;
      if (!OptionalString(s, "name", &r.name, step, error) ||
          !OptionalString(s, "verb", &r.verb, step, error) ||
          !OptionalBool(s, "expected_refusal", &r.expected_refusal, step, error) ||
          !OptionalString(s, "operation", &r.operation, step, error) ||
          !OptionalInt(s, "duration_ns", &r.duration_ns, step, error) ||
          !OptionalBool(s, "ok", &r.ok, step, error) ||
          !OptionalString(s, "error", &r.error, step, error) ||
          !OptionalString(s, "output", &r.output, step, error)) {
        return false;
      }
      c->steps.push_back(std::move(r));
    }
  }
  if (j.contains("data")) c->data = j["data"];
  return true;
}

}  // namespace

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
          {"exit_reasons", r.exit_reasons},
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
            {"xfail", s.xfail},
            {"xpass", s.xpass},
            {"duration_ns", s.duration_ns}}}};
}

namespace {

bool ReadReport(const json& j, RunReport* r, std::string* error) {
  if (!j.is_object()) return Fail(error, "report: not a JSON object");
  auto kind = j.find("kind");
  if (kind == j.end() || *kind != "polyarch.report") {
    return Fail(error, "report: kind is not polyarch.report");
  }
  auto version = j.find("schema_version");
  if (version == j.end() || !version->is_number_integer() || *version != kReportSchemaVersion) {
    return Fail(error, "report: schema_version " +
                           (version == j.end()
                                ? std::string("(missing)")
                                : version->dump(-1, ' ', false, json::error_handler_t::replace)) +
                           " is not " + std::to_string(kReportSchemaVersion));
  }
  if (!j.contains("cases") || !j["cases"].is_array()) return Fail(error, "report: no cases array");
  r->complete = false;
  r->incomplete_reason.clear();
  r->started_at.clear();
  r->finished_at.clear();
  r->exit_code = 0;
  if (!OptionalBool(j, "complete", &r->complete, "report", error) ||
      !OptionalString(j, "incomplete_reason", &r->incomplete_reason, "report", error) ||
      !OptionalString(j, "started_at", &r->started_at, "report", error) ||
      !OptionalString(j, "finished_at", &r->finished_at, "report", error) ||
      !OptionalInt(j, "exit_code", &r->exit_code, "report", error)) {
    return false;
  }
  r->exit_reasons.clear();
  if (auto it = j.find("exit_reasons"); it != j.end()) {
    if (!it->is_array()) return Fail(error, "report: field 'exit_reasons' is not an array");
    for (const auto& reason : *it) {
      if (!reason.is_string()) {
        return Fail(error, "report: field 'exit_reasons' holds something that is not a string");
      }
      r->exit_reasons.push_back(reason.get<std::string>());
    }
  }
  r->context = j.value("context", json::object());
  r->sections = j.value("sections", json::object());
  r->cases.clear();
  for (size_t i = 0; i < j["cases"].size(); ++i) {
    CaseResult c;
    std::string e;
    if (!ReadCase(j["cases"][i], &c, &e))
      return Fail(error, "cases[" + std::to_string(i) + "]: " + e);
    r->cases.push_back(std::move(c));
  }
  return true;
}

}  // namespace

Result<RunReport> ReportFromJson(const json& j) {
  RunReport r;
  std::string error;
  if (!ReadReport(j, &r, &error)) return InvalidArgument(error);
  return r;
}

Result<CaseResult> CaseFromJson(const json& j) {
  CaseResult c;
  std::string error;
  if (!ReadCase(j, &c, &error)) return InvalidArgument(error);
  return c;
}

}  // namespace polyarch
