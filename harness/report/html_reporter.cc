#include "harness/report/html_reporter.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "harness/report/stats.h"
#include "harness/report/svg_charts.h"
#include "harness/report/text.h"
#include "harness/report/views.h"

namespace polyarch {
namespace {

using nlohmann::json;
using svg::BoxChart;
using svg::BoxRow;
using svg::LineChart;
using svg::Num;
using svg::PairBarChart;
using svg::PairRow;
using svg::Series;

std::string E(std::string_view s) { return EscapeHtml(s); }

std::string StatusBadge(CaseStatus s) {
  const std::string name(CaseStatusName(s));
  return "<span class=\"s s-" + name + "\">" + name + "</span>";
}

// ---- tolerant readers for sections: they come from JSON a user may have edited ----------

std::string StrField(const json& o, const char* key) {
  if (!o.is_object()) return "";
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : "";
}

double NumField(const json& o, const char* key) {
  if (!o.is_object()) return NAN;
  auto it = o.find(key);
  return it != o.end() && it->is_number() ? it->get<double>() : NAN;
}

const json* Section(const RunReport& r, const char* name) {
  if (!r.sections.is_object()) return nullptr;
  auto it = r.sections.find(name);
  if (it == r.sections.end() || !it->is_array() || it->empty()) return nullptr;
  return &*it;
}

// ---- page parts ------------------------------------------------------------------------

constexpr const char* kStyle = R"css(
:root{--pass:#188038;--fail:#c5221f;--skip:#8d6e00;--error:#8430ce;--aborted:#d84315;
--xfail:#00796b;--xpass:#1967d2;--muted:#5f6368;--line:#dadce0}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
margin:0;color:#202124;background:#fff}
main{max-width:1120px;margin:0 auto;padding:12px 24px 48px}
h1{font-size:22px;margin:12px 0 2px}
h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:20px 0 6px}
h4{font-size:13px;margin:14px 0 4px;color:var(--muted)}
code,pre,dd{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace}
.sub{color:var(--muted);margin:0 0 8px}
.banner{padding:8px 12px;border-radius:6px;font-weight:600;margin:10px 0}
.banner.ok{background:#e6f4ea;color:#0d652d}
.banner.bad{background:#fce8e6;color:#a50e0e}
.banner.incomplete{background:#fef7e0;color:#7a4100;border:1px solid #f9ab00}
.banner.warn{background:#e8f0fe;color:#174ea6;font-weight:400}
dl.ctx{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:8px 0}
dl.ctx dt{color:var(--muted)}
dl.ctx dd{margin:0;word-break:break-all}
.tiles{display:flex;gap:10px;flex-wrap:wrap;margin:8px 0}
.tile{border:1px solid var(--line);border-radius:6px;padding:6px 14px;min-width:84px;text-align:center}
.tile b{display:block;font-size:22px;font-variant-numeric:tabular-nums}
.tile.pass b{color:var(--pass)}.tile.fail b{color:var(--fail)}.tile.skip b{color:var(--skip)}
.tile.error b{color:var(--error)}.tile.aborted b{color:var(--aborted)}
.tile.xfail b{color:var(--xfail)}.tile.xpass b{color:var(--xpass)}
table{border-collapse:collapse;margin:6px 0}
th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f8f9fa;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.matrix td{text-align:center;font-variant-numeric:tabular-nums;min-width:96px}
table.matrix th[scope=row]{text-align:left}
.c-pass{background:#e6f4ea}.c-fail{background:#fce8e6}.c-skip{background:#fef7e0}
.c-error{background:#f3e8fd}.c-aborted{background:#fbe9e7}.c-none{color:var(--muted)}
.c-xfail{background:#e0f2f1}.c-xpass{background:#e8f0fe;outline:2px dashed var(--xpass);outline-offset:-3px}
.legend span{display:inline-block;padding:0 8px;margin-right:6px;border:1px solid var(--line)}
.s{font-weight:700;text-transform:uppercase;font-size:12px;letter-spacing:.02em}
.s-pass{color:var(--pass)}.s-fail{color:var(--fail)}.s-skip{color:var(--skip)}
.s-error{color:var(--error)}.s-aborted{color:var(--aborted)}
.s-xfail{color:var(--xfail)}.s-xpass{color:var(--xpass)}
.reason{white-space:pre-wrap;word-break:break-word}
pre{background:#f8f9fa;border:1px solid var(--line);border-radius:4px;padding:6px 8px;margin:4px 0;
max-height:320px;overflow:auto;white-space:pre-wrap;word-break:break-all;font-size:12px}
details>summary{cursor:pointer;color:#1a73e8}
.note{color:var(--muted);font-size:12px;margin:2px 0 6px}
svg.chart{display:block;max-width:100%;height:auto;margin:4px 0 10px}
svg.chart text{font-size:11px;font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
footer{color:var(--muted);font-size:12px;margin-top:40px}
)css";

std::string ContextLabel(const std::string& path) {
  static const std::pair<const char*, const char*> kLabels[] = {
      {"host.hostname", "Host"},
      {"host.kernel", "Kernel"},
      {"host.machine", "Machine"},
      {"host.cpu_model", "CPU"},
      {"host.cpus", "CPUs"},
      {"host.cgroup_mode", "cgroup mode"},
      {"polyarch.version", "polyarch"},
      {"polyarch.command_line", "Command line"},
      {"qemu.version", "QEMU"}};
  for (const auto& [p, label] : kLabels) {
    if (path == p) return label;
  }
  // runtimes.runc.version -> "runc (runtime)", daemons.containerd.version -> "containerd (daemon)"
  size_t a = path.find('.'), b = path.rfind('.');
  if (a != std::string::npos && b > a) {
    std::string group = path.substr(0, a);
    std::string kind = group == "runtimes"  ? "runtime"
                       : group == "layers"  ? "layer"
                       : group == "daemons" ? "daemon"
                                            : group;
    return path.substr(a + 1, b - a - 1) + " (" + kind + ")";
  }
  return path;
}

void Header(std::ostringstream& o, const RunReport& r, const Summary& s) {
  o << "<header>\n<h1>polyarch report</h1>\n<p class=\"sub\">";
  if (!r.started_at.empty()) o << "started " << E(r.started_at);
  if (!r.finished_at.empty()) o << " \u00b7 finished " << E(r.finished_at);
  o << " \u00b7 exit code " << r.exit_code << "</p>\n";
  if (!r.complete) {
    o << "<div class=\"banner incomplete\">INCOMPLETE: "
      << E(r.incomplete_reason.empty() ? "the run did not finish" : r.incomplete_reason)
      << ". The cases below are the ones that finished; the counts are not a full run.</div>\n";
  } else if (r.exit_code != 0 || s.fail + s.error + s.aborted > 0) {
    // Never green beside a non-zero exit code: the banner says why the code is what it is.
    o << "<div class=\"banner bad\">Exit code " << r.exit_code << ": ";
    if (r.exit_reasons.empty()) {
      o << s.fail << " failed, " << s.error << " errored, " << s.aborted << " aborted of "
        << s.total << " cases.";
    } else {
      for (size_t i = 0; i < r.exit_reasons.size(); ++i) {
        o << (i ? "; " : "") << E(r.exit_reasons[i]);
      }
      o << ".";
    }
    o << "</div>\n";
  } else {
    o << "<div class=\"banner ok\">Complete: all " << s.total << " cases passed"
      << (s.xfail ? ", failed as known deviations (" + std::to_string(s.xfail) + " xfail)," : "")
      << " or were skipped for a stated reason; exit code 0.</div>\n";
  }
  for (const auto& warning : ReportWarnings(r)) {
    o << "<div class=\"banner warn\">Warning: " << E(warning) << "</div>\n";
  }
  const auto basics = ContextBasics(r.context);
  if (!basics.empty()) {
    o << "<dl class=\"ctx\">\n";
    for (const auto& [path, value] : basics) {
      o << "<dt>" << E(ContextLabel(path)) << "</dt><dd>" << E(value) << "</dd>\n";
    }
    o << "</dl>\n";
  }
  if (r.context.is_object() && !r.context.empty()) {
    o << "<details><summary>Full context (binfmt entries, images, everything recorded)</summary>"
      << "<pre>" << E(r.context.dump(2, ' ', false, json::error_handler_t::replace))
      << "</pre></details>\n";
  }
  o << "</header>\n";
}

void SummaryTiles(std::ostringstream& o, const Summary& s) {
  o << "<section id=\"summary\">\n<h2>Summary</h2>\n<div class=\"tiles\">\n";
  auto tile = [&](const char* cls, const std::string& label, const std::string& value) {
    o << "<div class=\"tile" << (*cls ? " " : "") << cls << "\"><b>" << E(value) << "</b>"
      << E(label) << "</div>\n";
  };
  tile("", "cases", std::to_string(s.total));
  tile("pass", "pass", std::to_string(s.pass));
  tile("fail", "fail", std::to_string(s.fail));
  tile("skip", "skip", std::to_string(s.skip));
  tile("error", "error", std::to_string(s.error));
  tile("aborted", "aborted", std::to_string(s.aborted));
  tile("xfail", "xfail", std::to_string(s.xfail));
  tile("xpass", "xpass", std::to_string(s.xpass));
  tile("", "case time", FormatDurationNs(s.duration_ns));
  o << "</div>\n</section>\n";
}

void MatrixTable(std::ostringstream& o, const RunReport& r) {
  const StatusMatrix m = BuildStatusMatrix(r.cases);
  if (m.arches.empty()) return;
  o << "<section id=\"matrix\">\n<h2>Architecture \u00d7 layer</h2>\n"
    << "<p class=\"note\">Each cell: pass / fail / skip; errors (E), aborted (A), known "
       "deviations (XF: xfail) and stale expectations (XP: xpass) when nonzero. The color is the "
       "worst status in the cell, in this order:</p>\n<p class=\"note legend\">";
  for (CaseStatus st :
       {CaseStatus::kAborted, CaseStatus::kError, CaseStatus::kFail, CaseStatus::kXpass,
        CaseStatus::kXfail, CaseStatus::kSkip, CaseStatus::kPass}) {
    o << "<span class=\"c-" << CaseStatusName(st) << "\">" << CaseStatusName(st) << "</span>";
  }
  o << "</p>\n<table class=\"matrix\">\n<tr><th>arch \\ layer</th>";
  for (const auto& l : m.layers) o << "<th scope=\"col\">" << E(l) << "</th>";
  o << "</tr>\n";
  for (const auto& a : m.arches) {
    o << "<tr><th scope=\"row\">" << E(a) << "</th>";
    for (const auto& l : m.layers) {
      const StatusCounts* c = m.Cell(a, l);
      if (!c) {
        o << "<td class=\"c-none\">\u2013</td>";
        continue;
      }
      std::string text = std::to_string(c->pass) + " / " + std::to_string(c->fail) + " / " +
                         std::to_string(c->skip) + RareCounts(*c);
      std::string tip = std::to_string(c->pass) + " pass, " + std::to_string(c->fail) + " fail, " +
                        std::to_string(c->skip) + " skip, " + std::to_string(c->error) +
                        " error, " + std::to_string(c->aborted) + " aborted, " +
                        std::to_string(c->xfail) + " xfail, " + std::to_string(c->xpass) + " xpass";
      o << "<td class=\"c-" << CaseStatusName(c->Worst()) << "\" title=\"" << E(tip) << "\">"
        << E(text) << "</td>";
    }
    o << "</tr>\n";
  }
  o << "</table>\n</section>\n";
}

void StepsTable(std::ostringstream& o, const CaseResult& c) {
  o << "<table class=\"steps\"><tr><th>step</th><th>operation</th><th>time</th><th>result</th>"
       "</tr>\n";
  for (const auto& s : c.steps) {
    o << "<tr><td>" << E(s.name) << "</td><td><code>" << E(s.operation) << "</code></td>"
      << "<td class=\"num\">" << E(FormatDurationNs(s.duration_ns)) << "</td><td>"
      << (s.ok ? "<span class=\"s s-pass\">ok</span>" : "<span class=\"s s-fail\">failed</span>");
    if (!s.error.empty()) o << "<div class=\"reason\">" << E(s.error) << "</div>";
    if (!s.output.empty()) o << "<pre>" << E(s.output) << "</pre>";
    o << "</td></tr>\n";
  }
  o << "</table>\n";
}

// A table of cases: status, id (with what it checks and its time), reason and steps.
void CaseTable(std::ostringstream& o, const std::vector<const CaseResult*>& cases,
               bool steps_open) {
  o << "<table class=\"failures\">\n<tr><th>status</th><th>case</th><th>reason</th></tr>\n";
  for (const CaseResult* c : cases) {
    o << "<tr><td>" << StatusBadge(c->status) << "</td><td><code>" << E(c->Id()) << "</code>";
    if (!c->spec_ref.empty()) o << "<div class=\"note\">checks " << E(c->spec_ref) << "</div>";
    o << "<div class=\"note\">" << E(FormatDurationNs(c->duration_ns)) << "</div></td>"
      << "<td><div class=\"reason\">" << E(c->reason) << "</div>";
    if (!c->steps.empty()) {
      o << "<details" << (steps_open ? " open" : "") << "><summary>" << c->steps.size() << " step"
        << (c->steps.size() == 1 ? "" : "s") << "</summary>\n";
      StepsTable(o, *c);
      o << "</details>";
    }
    o << "</td></tr>\n";
  }
  o << "</table>\n";
}

void Failures(std::ostringstream& o, const RunReport& r) {
  const auto bad = NotPassing(r.cases);
  o << "<section id=\"failures\">\n<h2>Failed, errored and aborted cases</h2>\n";
  if (bad.empty()) {
    o << "<p>None.</p>\n</section>\n";
    return;
  }
  // Steps open: they and their output are what the reader of this table came for.
  CaseTable(o, bad, /*steps_open=*/true);
  o << "</section>\n";
}

// Cases an expectations file lists (xpass, then xfail), the files applied and the entries
// that matched no case. Left out when the run had none of these.
void KnownDeviations(std::ostringstream& o, const RunReport& r) {
  const auto stale = CasesWithStatus(r.cases, CaseStatus::kXpass);
  const auto known = CasesWithStatus(r.cases, CaseStatus::kXfail);
  const json* section = nullptr;
  if (r.sections.is_object()) {
    auto it = r.sections.find("expectations");
    if (it != r.sections.end() && it->is_object()) section = &*it;
  }
  if (stale.empty() && known.empty() && section == nullptr) return;
  o << "<section id=\"deviations\">\n<h2>Known deviations</h2>\n"
    << "<p class=\"note\">Cases an expectations file lists as known deviations of the stack "
       "under test. xfail: the case failed as listed, which does not fail the run. xpass: the "
       "case passed although listed, so the entry is stale (with --strict it fails the "
       "run).</p>\n";
  if (!stale.empty()) {
    o << "<h3>Stale expectations (" << stale.size() << " xpass)</h3>\n";
    CaseTable(o, stale, /*steps_open=*/false);
  }
  if (!known.empty()) {
    o << "<h3>Failed as known (" << known.size() << " xfail)</h3>\n<details><summary>"
      << known.size() << " case" << (known.size() == 1 ? "" : "s") << "</summary>\n";
    CaseTable(o, known, /*steps_open=*/false);
    o << "</details>\n";
  }
  if (section == nullptr) {
    o << "</section>\n";
    return;
  }
  auto files = section->find("files");
  if (files != section->end() && files->is_array() && !files->empty()) {
    o << "<h3>Expectations applied</h3>\n<table>\n<tr><th>file</th><th>entries</th></tr>\n";
    for (const auto& f : *files) {
      const double n = NumField(f, "entries");
      auto b = f.is_object() ? f.find("builtin") : f.end();
      const bool builtin = b != f.end() && b->is_boolean() && b->get<bool>();
      o << "<tr><td><code>" << E(StrField(f, "path")) << "</code>" << (builtin ? " (built in)" : "")
        << "</td><td class=\"num\">" << (std::isfinite(n) ? Num(n) : "?") << "</td></tr>\n";
    }
    o << "</table>\n";
  }
  auto unused = section->find("unused");
  if (unused != section->end() && unused->is_array() && !unused->empty()) {
    o << "<h3>Entries that matched no case in this run</h3>\n<table>\n<tr><th>entry</th>"
         "<th>cases</th></tr>\n";
    for (const auto& u : *unused) {
      o << "<tr><td>" << E(StrField(u, "source")) << "</td><td><code>" << E(StrField(u, "cases"))
        << "</code></td></tr>\n";
    }
    o << "</table>\n";
  }
  o << "</section>\n";
}

void Skips(std::ostringstream& o, const RunReport& r) {
  const auto groups = GroupSkips(r.cases);
  if (groups.empty()) return;
  o << "<section id=\"skips\">\n<h2>Skipped, by reason</h2>\n<table>\n<tr><th>cases</th>"
       "<th>reason</th></tr>\n";
  for (const auto& g : groups) {
    o << "<tr><td class=\"num\">" << g.count << "</td><td class=\"reason\">"
      << E(g.reason.empty() ? "(no reason given)" : g.reason) << "</td></tr>\n";
  }
  o << "</table>\n</section>\n";
}

constexpr const char* kBoxLegend =
    "<p class=\"note\">Box: p50 to p90 (thick mark at p50); whisker to p99; dashed to max; thin "
    "line from min. Milliseconds, wall clock. Failed steps are counted, not timed; refusals a "
    "case required (start twice, pause a stopped container) are counted apart.</p>\n";

void StepLatencySection(std::ostringstream& o, const RunReport& r) {
  const auto layers = StepLatencyByLayer(r.cases);
  if (layers.empty()) return;
  o << "<section id=\"latency\">\n<h2>Step latency per layer</h2>\n" << kBoxLegend;
  for (const auto& l : layers) {
    std::vector<BoxRow> rows;
    for (const auto& s : l.steps) rows.push_back({s.step, s.ms, s.errors, s.expected_refusals});
    o << "<h3>" << E(l.layer) << "</h3>\n" << BoxChart(rows, "step latency, " + l.layer);
  }
  o << "</section>\n";
}

void Throughput(std::ostringstream& o, const RunReport& r) {
  const json* rows = Section(r, "throughput");
  if (!rows) return;
  std::vector<std::string> layers;
  for (const auto& row : *rows) {
    if (!StrField(row, "layer").empty()) AddUnique(&layers, StrField(row, "layer"));
  }
  if (layers.empty()) return;
  static const char* kOps[] = {"run", "create", "start", "wait", "delete", "end_to_end"};
  o << "<section id=\"throughput\">\n<h2>Throughput</h2>\n"
    << "<p class=\"note\">Concurrent starts: K workers each taking containers through their "
       "cycle, one after another. Starts per second against K, then the latency of each "
       "operation at each K.</p>\n";
  for (const auto& layer : layers) {
    std::vector<std::string> arches;
    std::vector<double> ks;
    std::vector<const json*> mine;
    for (const auto& row : *rows) {
      double k = NumField(row, "concurrency");
      if (StrField(row, "layer") != layer || !std::isfinite(k)) continue;
      mine.push_back(&row);
      AddUnique(&arches, StrField(row, "arch"));
      if (std::find(ks.begin(), ks.end(), k) == ks.end()) ks.push_back(k);
    }
    if (mine.empty()) continue;
    std::sort(ks.begin(), ks.end());
    o << "<h3>" << E(layer) << "</h3>\n";
    std::vector<std::string> paths;
    for (const json* row : mine) {
      // Reports written before the run cycle existed measured the lifecycle.
      const std::string path = StrField(*row, "path");
      AddUnique(&paths, path.empty() ? "lifecycle" : path);
    }
    for (const auto& path : paths) {
      o << "<p class=\"note\">cycle: " << E(path)
        << (path == "run" ? " (one call of the stack per container: run to exit, removed)"
                          : " (create, start, wait, delete: each timed)")
        << "</p>\n";
    }
    std::vector<Series> series;
    for (const auto& arch : arches) {
      Series s{arch.empty() ? "?" : arch, {}};
      for (const json* row : mine) {
        double rate = NumField(*row, "starts_per_s");
        if (StrField(*row, "arch") == arch && std::isfinite(rate)) {
          s.points.emplace_back(NumField(*row, "concurrency"), rate);
        }
      }
      if (!s.points.empty()) series.push_back(std::move(s));
    }
    if (!series.empty()) {
      o << "<h4>starts per second against concurrency</h4>\n"
        << LineChart(series, "starts per second against concurrency, " + layer,
                     "concurrent workers (K)", "starts/s");
    }
    for (double k : ks) {
      std::vector<BoxRow> boxes;
      for (const auto& arch : arches) {
        for (const json* row : mine) {
          if (StrField(*row, "arch") != arch || NumField(*row, "concurrency") != k) continue;
          auto lat = row->find("latency");
          if (lat == row->end() || !lat->is_object()) continue;
          std::vector<std::string> ops(std::begin(kOps), std::end(kOps));
          for (const auto& [name, value] : lat->items()) AddUnique(&ops, name);
          for (const auto& op : ops) {
            Distribution d;
            auto it = lat->find(op);
            if (it != lat->end() && DistributionFromJson(*it, &d)) {
              boxes.push_back({arch + " \u00b7 " + op, d, 0});
            }
          }
        }
      }
      if (boxes.empty()) continue;
      o << "<h4>latency at K = " << Num(k) << "</h4>\n"
        << BoxChart(boxes, "latency at K=" + Num(k) + ", " + layer);
    }
  }
  o << kBoxLegend << "</section>\n";
}

void CrossArch(std::ostringstream& o, const RunReport& r) {
  const json* rows = Section(r, "crossarch");
  if (!rows) return;
  std::vector<std::string> arches;
  for (const auto& row : *rows) {
    if (!StrField(row, "arch").empty()) AddUnique(&arches, StrField(row, "arch"));
  }
  if (arches.empty()) return;
  o << "<section id=\"crossarch\">\n<h2>Cross-architecture: emulated vs native</h2>\n"
    << "<p class=\"note\">For each foreign architecture: the time to start a container and "
       "to run the probe under QEMU user-mode emulation, beside the same on the native "
       "architecture; the ratio is emulated / native.</p>\n";
  for (const auto& arch : arches) {
    std::vector<PairRow> pairs;
    for (const auto& row : *rows) {
      if (StrField(row, "arch") != arch) continue;
      const std::string layer = StrField(row, "layer");
      PairRow start{layer + " \u00b7 start", NumField(row, "emulated_start_ms"),
                    NumField(row, "native_start_ms")};
      PairRow probe{layer + " \u00b7 probe run", NumField(row, "probe_run_ms"),
                    NumField(row, "native_probe_run_ms")};
      for (const PairRow& p : {start, probe}) {
        if (std::isfinite(p.emulated) || std::isfinite(p.native)) pairs.push_back(p);
      }
    }
    if (pairs.empty()) continue;
    o << "<h3>" << E(arch) << "</h3>\n" << PairBarChart(pairs, "emulated vs native, " + arch);
  }
  o << "</section>\n";
}

void AllCases(std::ostringstream& o, const RunReport& r) {
  if (r.cases.empty()) return;
  o << "<section id=\"cases\">\n<h2>All cases</h2>\n<details><summary>" << r.cases.size()
    << " cases</summary>\n<table>\n<tr><th>status</th><th>case</th><th>time</th>"
       "<th>reason</th></tr>\n";
  for (const auto& c : r.cases) {
    o << "<tr><td>" << StatusBadge(c.status) << "</td><td><code>" << E(c.Id())
      << "</code></td><td class=\"num\">" << E(FormatDurationNs(c.duration_ns))
      << "</td><td class=\"reason\">" << E(c.reason) << "</td></tr>\n";
  }
  o << "</table>\n</details>\n</section>\n";
}

}  // namespace

std::string FormatHtml(const RunReport& report) {
  const Summary s = Summarize(report.cases);
  std::string title = "polyarch report";
  std::string host = ContextValue(report.context, "host.hostname");
  if (!host.empty()) title += " \u00b7 " + host;
  if (!report.started_at.empty()) title += " \u00b7 " + report.started_at;

  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    << "<title>" << E(title) << "</title>\n<style>" << kStyle << "</style>\n</head>\n<body>\n"
    << "<main>\n";
  Header(o, report, s);
  SummaryTiles(o, s);
  MatrixTable(o, report);
  Failures(o, report);
  KnownDeviations(o, report);
  Skips(o, report);
  StepLatencySection(o, report);
  Throughput(o, report);
  CrossArch(o, report);
  AllCases(o, report);
  o << "<footer>polyarch report, schema version " << kReportSchemaVersion
    << ". Self-contained: this page loads nothing from anywhere.</footer>\n</main>\n</body>\n"
       "</html>\n";
  return o.str();
}

}  // namespace polyarch
