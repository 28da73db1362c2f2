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

// "3/1/0", then " E1" and " A2" only when nonzero: errors and aborts are rare, and a column
// of "E0 A0" would hide them.
std::string CellText(const StatusCounts& c) {
  std::string s =
      std::to_string(c.pass) + "/" + std::to_string(c.fail) + "/" + std::to_string(c.skip);
  if (c.error) s += " E" + std::to_string(c.error);
  if (c.aborted) s += " A" + std::to_string(c.aborted);
  return s;
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
  o << Paint("  cells: pass/fail/skip, E errors, A aborted (shown when nonzero), - no cases", kDim,
             color)
    << "\n";
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

  const auto bad = NotPassing(report.cases);
  if (!bad.empty()) {
    o << "\n" << Paint("not passing (" + std::to_string(bad.size()) + "):", kBold, color) << "\n";
    const std::string indent(2 + kStatusWidth + 2, ' ');
    for (const CaseResult* c : bad) {
      std::string word = Upper(CaseStatusName(c->status));
      o << "  " << Paint(PadRight(word, kStatusWidth), StatusColor(c->status), color) << "  "
        << ToPrintable(c->Id(), false) << "\n";
      std::string reason = ToPrintable(c->reason.empty() ? "(no reason given)" : c->reason, true);
      std::string_view rest = reason;
      while (!rest.empty()) {
        size_t nl = rest.find('\n');
        o << indent << rest.substr(0, nl) << "\n";
        if (nl == std::string_view::npos) break;
        rest.remove_prefix(nl + 1);
      }
    }
  }

  const auto skips = GroupSkips(report.cases);
  if (!skips.empty()) {
    int n = 0;
    for (const auto& g : skips) n += g.count;
    o << "\n" << Paint("skipped (" + std::to_string(n) + "), by reason:", kBold, color) << "\n";
    size_t w = std::to_string(skips.front().count).size();
    for (const auto& g : skips) {
      std::string count = std::to_string(g.count);
      o << "  " << std::string(w - count.size(), ' ')
        << Paint(count, StatusColor(CaseStatus::kSkip), color) << "  "
        << ToPrintable(g.reason.empty() ? "(no reason given)" : g.reason, false) << "\n";
    }
  }

  const Summary s = Summarize(report.cases);
  o << "\n";
  std::string totals = std::to_string(s.total) + " cases: ";
  o << Paint(totals, kBold, color)
    << Paint(std::to_string(s.pass) + " pass", StatusColor(CaseStatus::kPass), color && s.pass)
    << ", "
    << Paint(std::to_string(s.fail) + " fail", StatusColor(CaseStatus::kFail), color && s.fail)
    << ", "
    << Paint(std::to_string(s.skip) + " skip", StatusColor(CaseStatus::kSkip), color && s.skip);
  if (s.error)
    o << ", " << Paint(std::to_string(s.error) + " error", StatusColor(CaseStatus::kError), color);
  if (s.aborted) {
    o << ", "
      << Paint(std::to_string(s.aborted) + " aborted", StatusColor(CaseStatus::kAborted), color);
  }
  o << "; case time " << FormatDurationNs(s.duration_ns) << "; exit code " << report.exit_code
    << "\n";
  for (const auto& reason : report.exit_reasons) {
    o << Paint("exit code " + std::to_string(report.exit_code) + ": ", kBold, color)
      << ToPrintable(reason, false) << "\n";
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
  if (counts.error) line += ", " + std::to_string(counts.error) + " error";
  if (counts.aborted) line += ", " + std::to_string(counts.aborted) + " aborted";
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
      c.status == CaseStatus::kAborted) {
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
