#include "harness/report/console_reporter.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "harness/report/text.h"

namespace polyarch {
namespace {

constexpr std::string_view kReset = "\x1b[0m";
constexpr std::string_view kBold = "\x1b[1m";
constexpr std::string_view kDim = "\x1b[2m";
constexpr size_t kStatusWidth = 7;  // "aborted"

std::string_view StatusColor(CaseStatus s) {
  switch (s) {
    case CaseStatus::kPass:
      return "\x1b[32m";  // green
    case CaseStatus::kFail:
      return "\x1b[31m";  // red
    case CaseStatus::kSkip:
      return "\x1b[33m";  // yellow
    case CaseStatus::kError:
      return "\x1b[35m";  // magenta
    case CaseStatus::kAborted:
      return "\x1b[1;31m";  // bold red
    case CaseStatus::kXfail:
      return "\x1b[36m";  // cyan
    case CaseStatus::kXpass:
      return "\x1b[1;33m";  // bold yellow
  }
  return "";
}

std::string Paint(std::string_view text, std::string_view code, bool color) {
  if (!color || code.empty()) return std::string(text);
  return std::string(code) + std::string(text) + std::string(kReset);
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return out;
}

// "3/1/0", then the rare statuses when nonzero (" E1 A2 XF3 XP1").
std::string CellText(const StatusCounts& c) {
  return std::to_string(c.pass) + "/" + std::to_string(c.fail) + "/" + std::to_string(c.skip) +
         RareCounts(c);
}

void Matrix(std::ostringstream& o, const RunReport& report, bool color) {
  const StatusMatrix m = BuildStatusMatrix(report.cases);
  if (m.arches.empty()) {
    o << "no cases ran\n";
    return;
  }
  const std::string corner = "arch \\ layer";
  size_t first = DisplayWidth(corner);
  for (const auto& a : m.arches) first = std::max(first, DisplayWidth(ToPrintable(a, false)));
  std::vector<size_t> widths;
  for (const auto& l : m.layers) {
    size_t w = DisplayWidth(ToPrintable(l, false));
    for (const auto& a : m.arches) {
      const StatusCounts* c = m.Cell(a, l);
      w = std::max(w, c ? CellText(*c).size() : 1);
    }
    widths.push_back(w);
  }
  o << "  " << PadRight(corner, first);
  for (size_t i = 0; i < m.layers.size(); ++i) {
    o << "   "
      << (i + 1 < m.layers.size() ? PadRight(ToPrintable(m.layers[i], false), widths[i])
                                  : ToPrintable(m.layers[i], false));
  }
  o << "\n";
  for (const auto& a : m.arches) {
    o << "  " << PadRight(ToPrintable(a, false), first);
    for (size_t i = 0; i < m.layers.size(); ++i) {
      const StatusCounts* c = m.Cell(a, m.layers[i]);
      std::string text = c ? CellText(*c) : "-";
      bool last = i + 1 == m.layers.size();
      std::string painted = c ? Paint(text, StatusColor(c->Worst()), color) : text;
      o << "   " << painted << (last ? "" : std::string(widths[i] - text.size(), ' '));
    }
    o << "\n";
  }
  o << Paint(
           "  cells: pass/fail/skip; when nonzero, E errors, A aborted, XF known deviations "
           "(xfail),\n         XP stale expectations (xpass); - no cases",
           kDim, color)
    << "\n";
}

// A heading, then each case's status, id and reason (every line of it, indented).
void CaseList(std::ostringstream& o, const std::string& heading,
              const std::vector<const CaseResult*>& cases, bool color) {
  if (cases.empty()) return;
  o << "\n" << Paint(heading + " (" + std::to_string(cases.size()) + "):", kBold, color) << "\n";
  const std::string indent(2 + kStatusWidth + 2, ' ');
  for (const CaseResult* c : cases) {
    std::string word = Upper(CaseStatusName(c->status));
    o << "  " << Paint(PadRight(word, kStatusWidth), StatusColor(c->status), color) << "  "
      << ToPrintable(c->Id(), false) << "\n";
    o << PrefixLines(ToPrintable(c->reason.empty() ? "(no reason given)" : c->reason, true), indent,
                     indent);
  }
}

// A heading, then each group's count (in the status's color) and reason.
void GroupList(std::ostringstream& o, const std::string& heading, std::string_view by,
               const std::vector<SkipGroup>& groups, CaseStatus status, bool color) {
  if (groups.empty()) return;
  int n = 0;
  for (const auto& g : groups) n += g.count;
  o << "\n"
    << Paint(heading + " (" + std::to_string(n) + "), by " + std::string(by) + ":", kBold, color)
    << "\n";
  size_t w = std::to_string(groups.front().count).size();
  for (const auto& g : groups) {
    std::string count = std::to_string(g.count);
    o << "  " << std::string(w - count.size(), ' ') << Paint(count, StatusColor(status), color)
      << "  " << ToPrintable(g.reason.empty() ? "(no reason given)" : g.reason, false) << "\n";
  }
}

}  // namespace

std::string FormatConsoleSummary(const RunReport& report, bool color) {
  std::ostringstream o;
  const std::string incomplete =
      "INCOMPLETE: " + (report.incomplete_reason.empty()
                            ? std::string("the run did not finish")
                            : ToPrintable(report.incomplete_reason, false));
  // A partial run must not be mistaken for a clean one: say so before anything else.
  if (!report.complete) o << Paint(incomplete, "\x1b[1;31m", color) << "\n\n";
  Matrix(o, report, color);

  CaseList(o, "not passing", NotPassing(report.cases), color);
  CaseList(o, "stale expectations, xpass: passed although listed as known deviations",
           CasesWithStatus(report.cases, CaseStatus::kXpass), color);
  GroupList(o, "known deviations, xfail", "entry", GroupKnownDeviations(report.cases),
            CaseStatus::kXfail, color);
  GroupList(o, "skipped", "reason", GroupSkips(report.cases), CaseStatus::kSkip, color);

  const Summary s = Summarize(report.cases);
  o << "\n";
  std::string totals = std::to_string(s.total) + " cases: ";
  o << Paint(totals, kBold, color)
    << Paint(std::to_string(s.pass) + " pass", StatusColor(CaseStatus::kPass), color && s.pass)
    << ", "
    << Paint(std::to_string(s.fail) + " fail", StatusColor(CaseStatus::kFail), color && s.fail)
    << ", "
    << Paint(std::to_string(s.skip) + " skip", StatusColor(CaseStatus::kSkip), color && s.skip);
  // The rarer statuses only when nonzero.
  for (CaseStatus rare :
       {CaseStatus::kError, CaseStatus::kAborted, CaseStatus::kXfail, CaseStatus::kXpass}) {
    const int n = CounterOf(s, rare);
    if (n == 0) continue;
    o << ", "
      << Paint(std::to_string(n) + " " + std::string(CaseStatusName(rare)), StatusColor(rare),
               color);
  }
  o << "; case time " << FormatDurationNs(s.duration_ns) << "; exit code " << report.exit_code
    << "\n";
  for (const auto& reason : report.exit_reasons) {
    o << Paint("exit code " + std::to_string(report.exit_code) + ": ", kBold, color)
      << ToPrintable(reason, false) << "\n";
  }
  for (const auto& warning : ReportWarnings(report)) {
    o << Paint("warning: ", StatusColor(CaseStatus::kXpass), color) << ToPrintable(warning, false)
      << "\n";
  }
  if (!report.complete) o << Paint(incomplete, "\x1b[1;31m", color) << "\n";

  auto paths = report.sections.is_object() ? report.sections.find("paths") : report.sections.end();
  if (paths != report.sections.end() && paths->is_object() && !paths->empty()) {
    o << "\nreports:\n";
    size_t w = 0;
    for (const auto& [k, v] : paths->items()) w = std::max(w, DisplayWidth(ToPrintable(k, false)));
    for (const auto& [k, v] : paths->items()) {
      if (!v.is_string()) continue;
      o << "  " << PadRight(ToPrintable(k, false), w) << "  "
        << ToPrintable(v.get<std::string>(), false) << "\n";
    }
  }
  return o.str();
}

std::string FormatProgressLine(int done, int total, const CaseResult& c, bool color) {
  const std::string total_text = std::to_string(total);
  std::string done_text = std::to_string(done);
  if (done_text.size() < total_text.size()) {
    done_text.insert(0, total_text.size() - done_text.size(), ' ');
  }
  std::string line = "[" + done_text + "/" + total_text + "] ";
  line += Paint(PadRight(CaseStatusName(c.status), kStatusWidth), StatusColor(c.status), color);
  line += " " + ToPrintable(c.Id(), false) + " " + FormatDurationNs(c.duration_ns);
  if (c.status != CaseStatus::kPass && !c.reason.empty()) {
    line += ": " + ToPrintable(FirstLine(c.reason), false);
  }
  return line;
}

std::string FormatLiveProgress(int done, int total, const StatusCounts& counts,
                               std::string_view current, int running, size_t width) {
  const std::string total_text = std::to_string(total);
  std::string done_text = std::to_string(done);
  if (done_text.size() < total_text.size()) {
    done_text.insert(0, total_text.size() - done_text.size(), ' ');
  }
  std::string line = "[" + done_text + "/" + total_text + "] " + std::to_string(counts.pass) +
                     " pass, " + std::to_string(counts.fail) + " fail, " +
                     std::to_string(counts.skip) + " skip";
  for (CaseStatus rare :
       {CaseStatus::kError, CaseStatus::kAborted, CaseStatus::kXfail, CaseStatus::kXpass}) {
    if (const int n = CounterOf(counts, rare)) {
      line += ", " + std::to_string(n) + " " + std::string(CaseStatusName(rare));
    }
  }
  if (!current.empty()) {
    line += " | " + ToPrintable(current, false);
    if (running > 1) line += " (+" + std::to_string(running - 1) + ")";
  }
  // Cut by code points (the line is valid UTF-8, so a lead byte is a safe place to cut).
  if (DisplayWidth(line) > width) {
    const size_t keep = width > 0 ? width - 1 : 0;  // room for the ellipsis
    size_t n = 0, i = 0;
    for (; i < line.size(); ++i) {
      if ((static_cast<unsigned char>(line[i]) & 0xC0) == 0x80) continue;
      if (n == keep) break;
      ++n;
    }
    line = line.substr(0, i) + "\u2026";
  }
  return line;
}

ProgressPrinter::ProgressPrinter(FILE* out, bool tty, int total)
    : out_(out), tty_(tty), total_(total) {
  struct winsize ws {};
  if (tty_ && ioctl(fileno(out_), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) width_ = ws.ws_col;
}

void ProgressPrinter::CaseStarted(const std::string& id) {
  std::lock_guard lock(mu_);
  running_.push_back(id);
  if (tty_) DrawLocked();
}

void ProgressPrinter::CaseFinished(const CaseResult& c) {
  std::lock_guard lock(mu_);
  ++done_;
  counts_.Add(c.status);
  auto it = std::find(running_.begin(), running_.end(), c.Id());
  if (it != running_.end()) running_.erase(it);
  if (!tty_) {
    std::fputs((FormatProgressLine(done_, total_, c, false) + "\n").c_str(), out_);
    std::fflush(out_);
    return;
  }
  if (c.status == CaseStatus::kFail || c.status == CaseStatus::kError ||
      c.status == CaseStatus::kAborted || c.status == CaseStatus::kXpass) {
    std::fputs(("\r\x1b[2K" + FormatProgressLine(done_, total_, c, true) + "\n").c_str(), out_);
  }
  DrawLocked();
}

void ProgressPrinter::Finish() {
  std::lock_guard lock(mu_);
  if (finished_ || !tty_) return;
  finished_ = true;
  std::fputs(
      ("\r\x1b[2K" + FormatLiveProgress(done_, total_, counts_, "", 0, width_ - 1) + "\n").c_str(),
      out_);
  std::fflush(out_);
}

void ProgressPrinter::DrawLocked() {
  if (finished_) return;
  std::string current = running_.empty() ? "" : running_.back();
  // One column short of the width: a line that fills the last column wraps on some
  // terminals, and \r would then rewrite only the wrapped part.
  std::fputs(("\r\x1b[2K" + FormatLiveProgress(done_, total_, counts_, current,
                                               static_cast<int>(running_.size()), width_ - 1))
                 .c_str(),
             out_);
  std::fflush(out_);
}

}  // namespace polyarch
