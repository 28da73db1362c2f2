#include "harness/merge/merge.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "binfmt/arch.h"
#include "harness/core/exit_code.h"
#include "harness/report/text.h"
#include "harness/report/views.h"
#include "harness/run/outcome.h"

namespace polyarch {

using json = nlohmann::json;

namespace {

const json* Find(const json& j, std::initializer_list<const char*> path) {
  const json* at = &j;
  for (const char* key : path) {
    if (!at->is_object()) return nullptr;
    auto it = at->find(key);
    if (it == at->end()) return nullptr;
    at = &*it;
  }
  return at;
}

std::string StringAt(const json& j, std::initializer_list<const char*> path) {
  const json* v = Find(j, path);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

int IntAt(const json& j, std::initializer_list<const char*> path) {
  const json* v = Find(j, path);
  return v != nullptr && v->is_number_integer() ? v->get<int>() : 0;
}

bool IsShard(const RunReport& r) { return IntAt(r.context, {"polyarch", "shard", "count"}) > 0; }

std::string ShardName(const RunReport& r) {
  return std::to_string(IntAt(r.context, {"polyarch", "shard", "index"})) + "/" +
         std::to_string(IntAt(r.context, {"polyarch", "shard", "count"}));
}

// The host a report came from: its node name, else its hostname.
std::string HostOf(const RunReport& r) {
  std::string node = StringAt(r.context, {"host", "node"});
  return node.empty() ? StringAt(r.context, {"host", "hostname"}) : node;
}

std::string Join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

std::string Plural(size_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

}  // namespace

Result<MergeMode> ChooseMergeMode(const std::vector<NamedReport>& reports) {
  if (reports.size() < 2) {
    return InvalidArgument(
        "merge needs at least two reports (shards of one plan, or the same "
        "plan's runs on several hosts), got " +
        std::to_string(reports.size()));
  }
  const NamedReport* shard = nullptr;
  const NamedReport* whole = nullptr;
  for (const auto& r : reports) (IsShard(r.report) ? shard : whole) = &r;
  if (shard != nullptr && whole != nullptr) {
    return InvalidArgument(shard->file + " is shard " + ShardName(shard->report) + " of a plan, " +
                           whole->file +
                           " a whole run: merge either the shards of one plan or whole runs "
                           "from several hosts");
  }
  return shard != nullptr ? MergeMode::kShards : MergeMode::kFleet;
}

Result<RunReport> MergeShards(const std::vector<NamedReport>& shards, const std::string& out_dir) {
  PA_ASSIGN_OR_RETURN(MergeMode mode, ChooseMergeMode(shards));
  if (mode != MergeMode::kShards) return InvalidArgument("these reports are not shards");
  const NamedReport& first = shards.front();
  const std::string fingerprint = StringAt(first.report.context, {"polyarch", "plan_fingerprint"});
  const int count = IntAt(first.report.context, {"polyarch", "shard", "count"});
  if (fingerprint.empty()) {
    return InvalidArgument(first.file + ": the shard records no plan fingerprint");
  }
  std::map<int, const NamedReport*> by_index;
  for (const auto& s : shards) {
    std::string fp = StringAt(s.report.context, {"polyarch", "plan_fingerprint"});
    if (fp != fingerprint) {
      return InvalidArgument(s.file + ": a shard of another plan (fingerprint '" + fp + "', " +
                             first.file + " has '" + fingerprint + "')");
    }
    int n = IntAt(s.report.context, {"polyarch", "shard", "count"});
    if (n != count) {
      return InvalidArgument(s.file + ": shard " + ShardName(s.report) + ", but " + first.file +
                             " is one of " + std::to_string(count));
    }
    int index = IntAt(s.report.context, {"polyarch", "shard", "index"});
    if (index < 1 || index > count) {
      return InvalidArgument(s.file + ": shard index " + std::to_string(index) + " is outside 1.." +
                             std::to_string(count));
    }
    auto [it, fresh] = by_index.emplace(index, &s);
    if (!fresh) {
      return InvalidArgument(s.file + ": shard " + ShardName(s.report) + " given twice (also " +
                             it->second->file + ")");
    }
  }
  std::vector<std::string> missing;
  for (int i = 1; i <= count; ++i) {
    if (by_index.count(i) == 0) missing.push_back(std::to_string(i) + "/" + std::to_string(count));
  }
  if (!missing.empty()) {
    std::string given;
    for (const auto& [i, s] : by_index) {
      given += (given.empty() ? "" : ", ") + ShardName(s->report) + " " + s->file;
    }
    return InvalidArgument("shard" + std::string(missing.size() > 1 ? "s " : " ") +
                           Join(missing, ", ") + " of plan " + fingerprint +
                           " missing (given: " + given + ")");
  }

  RunReport out;
  const RunReport& one = by_index.begin()->second->report;
  out.context = one.context;
  out.context["polyarch"].erase("shard");
  json merged_from = json::array();
  std::map<std::string, std::string> owner;  // case id -> file
  std::vector<std::string> cleanup_problems, interrupted, warnings;
  json cleanup_shards = json::array();
  bool strict = false;
  std::optional<std::set<std::string>> unused;  // expectations entries no shard used
  json unused_entries = json::object();
  std::string started = one.started_at, finished = one.finished_at;
  for (const auto& [index, s] : by_index) {
    const RunReport& r = s->report;
    merged_from.push_back({{"file", s->file},
                           {"shard", ShardName(r)},
                           {"node", HostOf(r)},
                           {"run_id", StringAt(r.context, {"polyarch", "run_id"})},
                           {"exit_code", r.exit_code},
                           {"complete", r.complete},
                           {"cases", r.cases.size()}});
    for (const auto& c : r.cases) {
      auto [it, fresh] = owner.emplace(c.Id(), s->file);
      if (!fresh) {
        return InvalidArgument(s->file + ": case " + c.Id() + " is also in " + it->second +
                               " (the shards overlap: not cut from one plan)");
      }
      out.cases.push_back(c);
    }
    if (const json* plan_strict = Find(r.context, {"polyarch", "plan", "strict"});
        plan_strict != nullptr && plan_strict->is_boolean()) {
      strict |= plan_strict->get<bool>();
    }
    if (!r.complete) {
      interrupted.push_back("shard " + ShardName(r) + ": " +
                            (r.incomplete_reason.empty() ? "incomplete" : r.incomplete_reason));
    }
    if (const json* cl = Find(r.sections, {"cleanup"}); cl != nullptr) {
      cleanup_shards.push_back({{"shard", ShardName(r)}, {"cleanup", *cl}});
      if (const json* p = Find(*cl, {"problems"}); p != nullptr && p->is_array()) {
        for (const auto& x : *p) {
          if (x.is_string())
            cleanup_problems.push_back("shard " + ShardName(r) + ": " + x.get<std::string>());
        }
      }
    }
    std::set<std::string> here;
    if (const json* u = Find(r.sections, {"expectations", "unused"});
        u != nullptr && u->is_array()) {
      for (const auto& e : *u) {
        std::string source = StringAt(e, {"source"});
        here.insert(source);
        unused_entries[source] = e;
      }
    }
    if (!unused) {
      unused = here;
    } else {
      std::set<std::string> both;
      std::set_intersection(unused->begin(), unused->end(), here.begin(), here.end(),
                            std::inserter(both, both.begin()));
      unused = std::move(both);
    }
    for (const char* section : {"throughput", "calibration", "faults"}) {
      if (const json* v = Find(r.sections, {section});
          v != nullptr && !v->empty() && !out.sections.contains(section)) {
        out.sections[section] = *v;
      }
    }
    started = std::min(started, r.started_at);
    finished = std::max(finished, r.finished_at);
  }
  out.context["polyarch"]["merged_from"] = merged_from;
  std::stable_sort(out.cases.begin(), out.cases.end(),
                   [](const CaseResult& a, const CaseResult& b) { return a.Id() < b.Id(); });
  out.started_at = started;
  out.finished_at = finished;

  json unused_list = json::array();
  std::vector<std::string> unused_described;
  for (const auto& source : unused.value_or(std::set<std::string>{})) {
    unused_list.push_back(unused_entries[source]);
    std::string cases = StringAt(unused_entries[source], {"cases"});
    unused_described.push_back(source + (cases.empty() ? "" : " (" + cases + ")"));
  }
  json expectations =
      one.sections.contains("expectations") ? one.sections["expectations"] : json::object();
  expectations["unused"] = unused_list;
  OutcomeInputs in;
  in.summary = Summarize(out.cases);
  int xfail = 0, xpass = 0;
  for (const auto& c : out.cases) {
    if (c.status == CaseStatus::kXfail) ++xfail;
    if (c.status == CaseStatus::kXpass) {
      ++xpass;
      in.stale_expectations.push_back(c.Id());
    }
  }
  expectations["xfail"] = xfail;
  expectations["xpass"] = xpass;
  out.sections["expectations"] = expectations;
  in.unused_expectations = unused_described;
  in.cleanup_problems = cleanup_problems;
  in.strict = strict;
  if (!interrupted.empty()) in.interrupted_by = Join(interrupted, "; ");
  Outcome outcome = DecideOutcome(in);
  out.exit_code = outcome.code;
  out.exit_reasons = outcome.reasons;
  out.sections["warnings"] = outcome.warnings;
  out.sections["cleanup"] = {
      {"ok", cleanup_problems.empty()}, {"problems", cleanup_problems}, {"shards", cleanup_shards}};
  // The shards' hosts share an arch (one plan); its native cases may be in any shard.
  std::string native;
  const std::string machine = StringAt(out.context, {"host", "machine"});
  for (const ArchInfo& a : AllArches()) {
    if (a.uname_machine == machine) native = std::string(a.name);
  }
  json crossarch = CrossArchTimings(out.cases, native);
  if (!crossarch.empty()) out.sections["crossarch"] = crossarch;
  out.sections["paths"] = {{"report_json", out_dir + "/report.json"},
                           {"junit", out_dir + "/junit.xml"},
                           {"html", out_dir + "/report.html"}};
  out.complete = interrupted.empty();
  if (!out.complete) out.incomplete_reason = Join(interrupted, "; ");
  return out;
}

namespace {

// Context fields a fleet compares: the basics every reporter shows, less what names a host or
// a run (those differ by design).
std::map<std::string, std::string> ComparableContext(const json& context) {
  static const std::set<std::string> identity = {"host.node", "host.hostname", "host.machine_id",
                                                 "polyarch.command_line",
                                                 "polyarch.plan_fingerprint"};
  std::map<std::string, std::string> out;
  for (auto& [label, value] : ContextBasics(context)) {
    if (identity.count(label) == 0) out[label] = value;
  }
  // The program each layer ran: a --runtime-binary differs here.
  if (const json* layers = Find(context, {"layers"}); layers != nullptr && layers->is_object()) {
    for (const auto& [name, layer] : layers->items()) {
      std::string binary = StringAt(layer, {"binary"});
      if (!binary.empty()) out["layers." + name + ".binary"] = binary;
    }
  }
  return out;
}

std::string Verdict(const Summary& s) {
  if (s.fail + s.error + s.aborted > 0) return "fail";
  if (s.pass + s.xfail + s.xpass == 0 && s.skip > 0) return "skip";
  return "pass";
}

bool Failing(CaseStatus s) {
  return s == CaseStatus::kFail || s == CaseStatus::kError || s == CaseStatus::kAborted;
}

}  // namespace

Result<json> BuildFleetReport(const std::vector<NamedReport>& reports) {
  PA_ASSIGN_OR_RETURN(MergeMode mode, ChooseMergeMode(reports));
  if (mode != MergeMode::kFleet) {
    return InvalidArgument("these reports are shards of one plan: merge makes them one report");
  }
  std::map<std::string, const NamedReport*> by_host;
  std::vector<std::string> order;  // hosts as given
  for (const auto& r : reports) {
    std::string host = HostOf(r.report);
    if (host.empty()) host = r.file;
    auto [it, fresh] = by_host.emplace(host, &r);
    if (!fresh) {
      return InvalidArgument(r.file + ": host '" + host + "' again (also " + it->second->file +
                             "); a fleet report takes one run per host (give each a --node)");
    }
    order.push_back(host);
  }

  json hosts = json::array();
  json matrix = json::object();
  std::set<std::string> fingerprints, layers, arches;
  std::map<std::string, std::map<std::string, const CaseResult*>> cases;  // id -> host -> case
  std::set<std::string> failing_hosts;
  int exit_code = kExitOk;
  for (const auto& host : order) {
    const RunReport& r = by_host[host]->report;
    Summary s = Summarize(r.cases);
    fingerprints.insert(StringAt(r.context, {"polyarch", "plan_fingerprint"}));
    std::string verdict = r.complete ? Verdict(s) : "incomplete";
    if (r.exit_code != kExitOk) failing_hosts.insert(host);
    exit_code = std::max(exit_code, r.exit_code);
    hosts.push_back({{"node", host},
                     {"file", by_host[host]->file},
                     {"run_id", StringAt(r.context, {"polyarch", "run_id"})},
                     {"plan_fingerprint", StringAt(r.context, {"polyarch", "plan_fingerprint"})},
                     {"exit_code", r.exit_code},
                     {"exit_reasons", r.exit_reasons},
                     {"complete", r.complete},
                     {"verdict", verdict},
                     {"summary",
                      {{"total", s.total},
                       {"pass", s.pass},
                       {"fail", s.fail},
                       {"error", s.error},
                       {"skip", s.skip},
                       {"aborted", s.aborted},
                       {"xfail", s.xfail},
                       {"xpass", s.xpass}}},
                     {"context", ComparableContext(r.context)}});
    json cells = json::object();
    for (const auto& c : r.cases) {
      layers.insert(c.layer);
      arches.insert(c.arch);
      json& cell = cells[c.layer][c.arch];
      if (cell.is_null()) cell = {{"pass", 0}, {"fail", 0}, {"skip", 0}, {"other", 0}};
      if (c.status == CaseStatus::kPass || c.status == CaseStatus::kXfail) {
        cell["pass"] = cell["pass"].get<int>() + 1;
      } else if (Failing(c.status)) {
        cell["fail"] = cell["fail"].get<int>() + 1;
      } else if (c.status == CaseStatus::kSkip) {
        cell["skip"] = cell["skip"].get<int>() + 1;
      } else {
        cell["other"] = cell["other"].get<int>() + 1;
      }
      cases[c.Id()][host] = &c;
    }
    for (auto& [layer, per_arch] : cells.items()) {
      for (auto& [arch, cell] : per_arch.items()) {
        cell["verdict"] = cell["fail"].get<int>() > 0                              ? "fail"
                          : cell["pass"].get<int>() + cell["other"].get<int>() > 0 ? "pass"
                                                                                   : "skip";
      }
    }
    matrix[host] = cells;
  }

  // Cases whose verdict is not the same on every host (a host without the case: "missing").
  json differing = json::array();
  for (const auto& [id, per_host] : cases) {
    std::set<std::string> statuses;
    json st = json::object(), reasons = json::object();
    for (const auto& host : order) {
      auto it = per_host.find(host);
      std::string status =
          it == per_host.end() ? "missing" : std::string(CaseStatusName(it->second->status));
      statuses.insert(status);
      st[host] = status;
      if (it != per_host.end() && !it->second->reason.empty()) reasons[host] = it->second->reason;
    }
    if (statuses.size() > 1) differing.push_back({{"id", id}, {"status", st}, {"reason", reasons}});
  }

  // Throughput side by side: starts per second of each layer x arch x concurrency, per host
  // (the median of a host's trials).
  std::map<std::string, std::map<std::string, std::vector<double>>> rates;
  for (const auto& host : order) {
    const json* rows = Find(by_host[host]->report.sections, {"throughput"});
    if (rows == nullptr || !rows->is_array()) continue;
    for (const auto& row : *rows) {
      const json* rate = Find(row, {"starts_per_s"});
      const json* k = Find(row, {"concurrency"});
      if (rate == nullptr || !rate->is_number() || k == nullptr || !k->is_number_integer())
        continue;
      std::string key = StringAt(row, {"layer"}) + " " + StringAt(row, {"arch"}) +
                        " K=" + std::to_string(k->get<int>());
      rates[key][host].push_back(rate->get<double>());
    }
  }
  json throughput = json::array();
  for (auto& [key, per_host] : rates) {
    json values = json::object();
    for (auto& [host, v] : per_host) {
      std::sort(v.begin(), v.end());
      values[host] = v[v.size() / 2];
    }
    throughput.push_back({{"group", key}, {"starts_per_s", values}});
  }

  // Context fields whose values differ, and whether they line up with the failures: every
  // failing host has a value no passing host has.
  json context_diff = json::array();
  std::set<std::string> fields;
  for (const auto& h : hosts) {
    for (auto& [field, value] : h["context"].items()) fields.insert(field);
  }
  for (const auto& field : fields) {
    std::set<std::string> values;
    json per_host = json::object();
    for (const auto& h : hosts) {
      std::string v = h["context"].contains(field) ? h["context"][field].get<std::string>() : "";
      values.insert(v);
      per_host[h["node"].get<std::string>()] = v;
    }
    if (values.size() < 2) continue;
    std::set<std::string> failing_values, passing_values;
    for (const auto& host : order) {
      (failing_hosts.count(host) ? failing_values : passing_values)
          .insert(per_host[host].get<std::string>());
    }
    bool lines_up = !failing_values.empty() && !passing_values.empty();
    for (const auto& v : failing_values) lines_up &= passing_values.count(v) == 0;
    context_diff.push_back(
        {{"field", field}, {"values", per_host}, {"lines_up_with_failures", lines_up}});
  }

  json warnings = json::array();
  if (fingerprints.size() > 1) {
    warnings.push_back("the hosts ran different plans (" +
                       Plural(fingerprints.size(), "fingerprint") +
                       "): cases one host planned and another did not show as missing");
  }
  return json{{"kind", "polyarch.fleet"},
              {"schema_version", 1},
              {"hosts", hosts},
              {"layers", layers},
              {"arches", arches},
              {"matrix", matrix},
              {"differing_cases", differing},
              {"throughput", throughput},
              {"context_differences", context_diff},
              {"failing_hosts", failing_hosts},
              {"warnings", warnings},
              {"exit_code", exit_code}};
}

std::string FormatFleetConsole(const json& fleet, bool color) {
  auto paint = [color](const std::string& text, const char* code) {
    return color ? std::string("\033[") + code + "m" + text + "\033[0m" : text;
  };
  std::ostringstream out;
  const json& hosts = fleet["hosts"];
  out << "fleet: " << Plural(hosts.size(), "host") << ", "
      << Plural(fleet["differing_cases"].size(), "case") << " differing between them\n";
  for (const auto& h : hosts) {
    const json& s = h["summary"];
    std::string verdict = h["verdict"].get<std::string>();
    out << "  " << PadRight(h["node"].get<std::string>(), 24) << " "
        << paint(PadRight(verdict, 10), verdict == "pass" ? "32" : "31") << " "
        << s["pass"].get<int>() << " pass, " << s["fail"].get<int>() + s["error"].get<int>()
        << " failed, " << s["skip"].get<int>() << " skipped, " << s["xfail"].get<int>()
        << " known deviations of " << s["total"].get<int>() << " (exit "
        << h["exit_code"].get<int>() << ")\n";
  }
  size_t shown = 0;
  for (const auto& d : fleet["differing_cases"]) {
    if (shown++ == 0) out << "differing cases:\n";
    if (shown > 20) {
      out << "  ... and " << fleet["differing_cases"].size() - 20 << " more (fleet.json)\n";
      break;
    }
    out << "  " << d["id"].get<std::string>() << ":";
    for (auto& [host, status] : d["status"].items())
      out << " " << host << "=" << status.get<std::string>();
    out << "\n";
  }
  for (const auto& c : fleet["context_differences"]) {
    out << "context differs: " << c["field"].get<std::string>()
        << (c["lines_up_with_failures"].get<bool>() ? " (lines up with the failures)" : "") << ":";
    for (auto& [host, value] : c["values"].items()) {
      out << " " << host << "="
          << (value.get<std::string>().empty() ? "-" : value.get<std::string>());
    }
    out << "\n";
  }
  for (const auto& w : fleet["warnings"]) out << "warning: " << w.get<std::string>() << "\n";
  out << "exit code " << fleet["exit_code"].get<int>() << "\n";
  return out.str();
}

std::string FormatFleetHtml(const json& fleet) {
  std::ostringstream h;
  auto e = [](const std::string& s) { return EscapeHtml(s); };
  h << "<!doctype html><html><head><meta charset=\"utf-8\"><title>polyarch fleet</title><style>"
       "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin:.5em 0 "
       "1.5em}td,th{border:1px solid #ccc;padding:.2em .5em;font-size:.9em}"
       ".pass{background:#d9f2d9}.fail{background:#f7c6c6}.skip{background:#eee}"
       ".incomplete{background:#fde7b0}.missing{background:#fde7b0}</style></head><body>\n";
  const json& hosts = fleet["hosts"];
  h << "<h1>polyarch fleet: " << hosts.size() << " hosts</h1>\n<p>exit code "
    << fleet["exit_code"].get<int>() << "; " << fleet["differing_cases"].size()
    << " cases differ between hosts</p>\n";
  for (const auto& w : fleet["warnings"])
    h << "<p class=\"missing\">" << e(w.get<std::string>()) << "</p>\n";
  h << "<h2>Hosts</h2><table><tr><th>host</th><th>verdict</th><th>pass</th><th>failed</th>"
       "<th>skipped</th><th>total</th><th>exit</th><th>run</th></tr>\n";
  for (const auto& x : hosts) {
    const json& s = x["summary"];
    std::string v = x["verdict"].get<std::string>();
    h << "<tr><td>" << e(x["node"].get<std::string>()) << "</td><td class=\"" << v << "\">" << v
      << "</td><td>" << s["pass"].get<int>() << "</td><td>"
      << s["fail"].get<int>() + s["error"].get<int>() + s["aborted"].get<int>() << "</td><td>"
      << s["skip"].get<int>() << "</td><td>" << s["total"].get<int>() << "</td><td>"
      << x["exit_code"].get<int>() << "</td><td>" << e(x["run_id"].get<std::string>())
      << "</td></tr>\n";
  }
  h << "</table>\n<h2>Host &times; layer &times; arch</h2><table><tr><th>host</th><th>layer</th>";
  for (const auto& a : fleet["arches"]) h << "<th>" << e(a.get<std::string>()) << "</th>";
  h << "</tr>\n";
  for (const auto& x : hosts) {
    const std::string host = x["node"].get<std::string>();
    for (const auto& l : fleet["layers"]) {
      const std::string layer = l.get<std::string>();
      h << "<tr><td>" << e(host) << "</td><td>" << e(layer) << "</td>";
      for (const auto& a : fleet["arches"]) {
        const json* cell = Find(fleet["matrix"], {host.c_str(), layer.c_str(),
                                                  a.get_ref<const std::string&>().c_str()});
        if (cell == nullptr) {
          h << "<td class=\"missing\">-</td>";
          continue;
        }
        std::string v = (*cell)["verdict"].get<std::string>();
        h << "<td class=\"" << v << "\">" << (*cell)["pass"].get<int>() << "/"
          << (*cell)["pass"].get<int>() + (*cell)["fail"].get<int>() + (*cell)["skip"].get<int>() +
                 (*cell)["other"].get<int>();
        if ((*cell)["fail"].get<int>() > 0) h << " (" << (*cell)["fail"].get<int>() << " failed)";
        h << "</td>";
      }
      h << "</tr>\n";
    }
  }
  h << "</table>\n<h2>Context that differs</h2>";
  if (fleet["context_differences"].empty()) h << "<p>none</p>";
  h << "<table><tr><th>field</th>";
  for (const auto& x : hosts) h << "<th>" << e(x["node"].get<std::string>()) << "</th>";
  h << "<th>lines up with the failures</th></tr>\n";
  for (const auto& c : fleet["context_differences"]) {
    h << "<tr><td>" << e(c["field"].get<std::string>()) << "</td>";
    for (const auto& x : hosts) {
      const std::string host = x["node"].get<std::string>();
      bool failing = x["exit_code"].get<int>() != 0;
      h << "<td class=\"" << (failing ? "fail" : "pass") << "\">"
        << e(c["values"].value(host, std::string())) << "</td>";
    }
    h << "<td>" << (c["lines_up_with_failures"].get<bool>() ? "yes" : "no") << "</td></tr>\n";
  }
  h << "</table>\n<h2>Cases that differ</h2><table><tr><th>case</th>";
  for (const auto& x : hosts) h << "<th>" << e(x["node"].get<std::string>()) << "</th>";
  h << "</tr>\n";
  size_t n = 0;
  for (const auto& d : fleet["differing_cases"]) {
    if (++n > 500) {
      h << "<tr><td colspan=\"99\">... and " << fleet["differing_cases"].size() - 500
        << " more in fleet.json</td></tr>\n";
      break;
    }
    h << "<tr><td>" << e(d["id"].get<std::string>()) << "</td>";
    for (const auto& x : hosts) {
      const std::string host = x["node"].get<std::string>();
      std::string st = d["status"].value(host, std::string("missing"));
      std::string cls = st == "pass" || st == "xfail" ? "pass"
                        : st == "skip"                ? "skip"
                        : st == "missing"             ? "missing"
                                                      : "fail";
      h << "<td class=\"" << cls << "\" title=\"" << e(d["reason"].value(host, std::string()))
        << "\">" << e(st) << "</td>";
    }
    h << "</tr>\n";
  }
  h << "</table>\n<h2>Throughput (starts per second)</h2>";
  if (fleet["throughput"].empty())
    h << "<p>no throughput in these runs</p>";
  else {
    h << "<table><tr><th>layer arch K</th>";
    for (const auto& x : hosts) h << "<th>" << e(x["node"].get<std::string>()) << "</th>";
    h << "</tr>\n";
    for (const auto& row : fleet["throughput"]) {
      h << "<tr><td>" << e(row["group"].get<std::string>()) << "</td>";
      for (const auto& x : hosts) {
        const json* v =
            Find(row["starts_per_s"], {x["node"].get_ref<const std::string&>().c_str()});
        h << "<td>" << (v != nullptr ? StringPrintf("%.1f", v->get<double>()) : std::string("-"))
          << "</td>";
      }
      h << "</tr>\n";
    }
    h << "</table>\n";
  }
  h << "</body></html>\n";
  return h.str();
}

}  // namespace polyarch
