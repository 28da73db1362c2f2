#include "harness/report/svg_charts.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "harness/report/text.h"

namespace polyarch::svg {
namespace {

std::string E(std::string_view s) { return EscapeHtml(s); }

// Arch series colors: distinguishable, and readable on white.
constexpr const char* kPalette[] = {"#1a73e8", "#e8710a", "#188038", "#d93025", "#9334e6",
                                    "#795548", "#c2185b", "#5f6368", "#827717", "#00838f"};
constexpr const char* kEmulatedColor = "#e8710a";
constexpr const char* kNativeColor = "#1a73e8";
constexpr const char* kBoxColor = "#1a73e8";

// An axis that ends on a round number: steps of 1, 2, 2.5 or 5 times a power of ten.
struct Axis {
  double max = 1;
  double step = 1;
};
Axis NiceAxis(double max_value, int target_ticks = 5) {
  if (!(max_value > 0) || !std::isfinite(max_value)) return {1, 0.25};
  double raw = max_value / target_ticks;
  double mag = std::pow(10, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) break;
  }
  return {step * std::ceil(max_value / step - 1e-9), step};
}

}  // namespace

// The full text of a clipped label stays in the <title> tooltip.
std::string Clip(const std::string& s, size_t max_chars) {
  if (DisplayWidth(s) <= max_chars) return s;
  std::string out;
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && ++n > max_chars - 1) break;
    out.push_back(s[i]);
  }
  return out + "\u2026";
}

// SVG coordinates: one decimal is finer than a pixel and keeps the output stable.
std::string X(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  std::string s = buf;
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  return s;
}

// Axis ticks and concurrency levels: round numbers print without decimals ("25", "4"),
// others with up to 3 significant digits ("2.5", "0.25").
std::string Num(double v) {
  char buf[32];
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.3g", v);
  }
  return buf;
}

// ---- charts ---------------------------------------------------------------------------

// Horizontal box plots on one shared scale: thin line from min to p50, box from p50 to p90,
// whisker to p99 with a cap, dashed to max with a dot. The numbers are printed beside each
// row, so the chart never has to be read off the axis.
std::string BoxChart(const std::vector<BoxRow>& rows, const std::string& title) {
  constexpr double kWidth = 960, kLabel = kLabelWidth, kPlot = 400, kRow = 24, kTop = 24,
                   kBottom = 8;
  const double x0 = kLabel, x1 = kLabel + kPlot;
  double max_value = 0;
  for (const auto& r : rows) {
    if (r.d.count > 0) max_value = std::max(max_value, r.d.max);
  }
  const Axis axis = NiceAxis(max_value);
  auto sx = [&](double v) { return x0 + std::clamp(v / axis.max, 0.0, 1.0) * kPlot; };
  const double height = kTop + kRow * static_cast<double>(rows.size()) + kBottom;

  std::ostringstream o;
  o << "<svg class=\"chart\" width=\"" << X(kWidth) << "\" height=\"" << X(height)
    << "\" viewBox=\"0 0 " << X(kWidth) << " " << X(height) << "\" role=\"img\" aria-label=\""
    << E(title) << "\">\n<title>" << E(title) << "</title>\n";
  for (int i = 0; i * axis.step <= axis.max + axis.step / 2; ++i) {
    const double t = i * axis.step;  // not a running sum: that drifts off round numbers
    o << "<line x1=\"" << X(sx(t)) << "\" y1=\"" << X(kTop - 4) << "\" x2=\"" << X(sx(t))
      << "\" y2=\"" << X(height - kBottom) << "\" stroke=\"#e8eaed\"/>"
      << "<text x=\"" << X(sx(t)) << "\" y=\"" << X(kTop - 8)
      << "\" text-anchor=\"middle\" fill=\"#5f6368\">" << Num(t) << "</text>\n";
  }
  o << "<text x=\"" << X(x1 + 12) << "\" y=\"" << X(kTop - 8) << "\" fill=\"#5f6368\">ms</text>\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const BoxRow& r = rows[i];
    const Distribution& d = r.d;
    const double y = kTop + kRow * static_cast<double>(i) + kRow / 2;
    std::string tip = r.label + ": ";
    if (d.count > 0) {
      tip += "n=" + std::to_string(d.count) + ", min " + FormatMs(d.min) + ", p50 " +
             FormatMs(d.p50) + ", p90 " + FormatMs(d.p90) + ", p99 " + FormatMs(d.p99) + ", max " +
             FormatMs(d.max) + " ms, cv " + FormatMs(d.cv);
    } else {
      tip += "no successful sample";
    }
    if (r.errors) tip += ", " + std::to_string(r.errors) + " failed";
    if (r.expected_refusals) {
      tip += ", " + std::to_string(r.expected_refusals) + " refused as the case required";
    }
    o << "<g><title>" << E(tip) << "</title>";
    o << "<text x=\"" << X(kLabel - 8) << "\" y=\"" << X(y + 4) << "\" text-anchor=\"end\">"
      << E(Clip(r.label, kLabelChars)) << "</text>";
    if (d.count > 0) {
      o << "<line x1=\"" << X(sx(d.min)) << "\" y1=\"" << X(y) << "\" x2=\"" << X(sx(d.p50))
        << "\" y2=\"" << X(y) << "\" stroke=\"#9aa0a6\"/>";
      o << "<rect x=\"" << X(sx(d.p50)) << "\" y=\"" << X(y - 6) << "\" width=\""
        << X(std::max(sx(d.p90) - sx(d.p50), 1.0)) << "\" height=\"12\" fill=\"" << kBoxColor
        << "\" fill-opacity=\"0.3\" stroke=\"" << kBoxColor << "\"/>";
      o << "<line x1=\"" << X(sx(d.p50)) << "\" y1=\"" << X(y - 7) << "\" x2=\"" << X(sx(d.p50))
        << "\" y2=\"" << X(y + 7) << "\" stroke=\"" << kBoxColor << "\" stroke-width=\"2.5\"/>";
      o << "<line x1=\"" << X(sx(d.p90)) << "\" y1=\"" << X(y) << "\" x2=\"" << X(sx(d.p99))
        << "\" y2=\"" << X(y) << "\" stroke=\"" << kBoxColor << "\" stroke-width=\"1.5\"/>";
      o << "<line x1=\"" << X(sx(d.p99)) << "\" y1=\"" << X(y - 4) << "\" x2=\"" << X(sx(d.p99))
        << "\" y2=\"" << X(y + 4) << "\" stroke=\"" << kBoxColor << "\" stroke-width=\"1.5\"/>";
      o << "<line x1=\"" << X(sx(d.p99)) << "\" y1=\"" << X(y) << "\" x2=\"" << X(sx(d.max))
        << "\" y2=\"" << X(y) << "\" stroke=\"" << kBoxColor << "\" stroke-dasharray=\"2 2\"/>";
      o << "<circle cx=\"" << X(sx(d.max)) << "\" cy=\"" << X(y) << "\" r=\"2.5\" fill=\""
        << kBoxColor << "\"/>";
      o << "<text x=\"" << X(x1 + 12) << "\" y=\"" << X(y + 4) << "\">p50 " << FormatMs(d.p50)
        << " \u00b7 p90 " << FormatMs(d.p90) << " \u00b7 p99 " << FormatMs(d.p99) << " \u00b7 max "
        << FormatMs(d.max) << " <tspan fill=\"#5f6368\">n=" << d.count << "</tspan>";
    } else {
      o << "<text x=\"" << X(x1 + 12) << "\" y=\"" << X(y + 4)
        << "\"><tspan fill=\"#5f6368\">no successful sample</tspan>";
    }
    if (r.errors) {
      o << " <tspan fill=\"#c5221f\">" << r.errors << " failed</tspan>";
    }
    if (r.expected_refusals) {
      o << " <tspan fill=\"#5f6368\">" << r.expected_refusals << " refused as expected</tspan>";
    }
    o << "</text></g>\n";
  }
  o << "</svg>\n";
  return o.str();
}

// Points joined by lines; x values are placed evenly in sorted order (concurrency levels
// are usually 1, 2, 4, 8...: even spacing reads better than a linear axis).
std::string LineChart(const std::vector<Series>& series, const std::string& title,
                      const std::string& x_label, const std::string& y_label) {
  constexpr double kWidth = 640, kHeight = 260, kLeft = 56, kRight = 130, kTop = 20, kBottom = 44;
  std::vector<double> xs;
  double max_y = 0;
  for (const auto& s : series) {
    for (const auto& [x, y] : s.points) {
      if (std::find(xs.begin(), xs.end(), x) == xs.end()) xs.push_back(x);
      max_y = std::max(max_y, y);
    }
  }
  std::sort(xs.begin(), xs.end());
  const Axis axis = NiceAxis(max_y);
  const double pw = kWidth - kLeft - kRight, ph = kHeight - kTop - kBottom;
  auto sx = [&](double x) {
    size_t i = static_cast<size_t>(std::find(xs.begin(), xs.end(), x) - xs.begin());
    return xs.size() <= 1
               ? kLeft + pw / 2
               : kLeft + 16 +
                     (pw - 32) * static_cast<double>(i) / static_cast<double>(xs.size() - 1);
  };
  auto sy = [&](double y) { return kTop + ph - std::clamp(y / axis.max, 0.0, 1.0) * ph; };

  std::ostringstream o;
  o << "<svg class=\"chart\" width=\"" << X(kWidth) << "\" height=\"" << X(kHeight)
    << "\" viewBox=\"0 0 " << X(kWidth) << " " << X(kHeight) << "\" role=\"img\" aria-label=\""
    << E(title) << "\">\n<title>" << E(title) << "</title>\n";
  for (int i = 0; i * axis.step <= axis.max + axis.step / 2; ++i) {
    const double t = i * axis.step;  // not a running sum: that drifts off round numbers
    o << "<line x1=\"" << X(kLeft) << "\" y1=\"" << X(sy(t)) << "\" x2=\"" << X(kLeft + pw)
      << "\" y2=\"" << X(sy(t)) << "\" stroke=\"#e8eaed\"/><text x=\"" << X(kLeft - 6) << "\" y=\""
      << X(sy(t) + 4) << "\" text-anchor=\"end\" fill=\"#5f6368\">" << Num(t) << "</text>\n";
  }
  for (double x : xs) {
    o << "<text x=\"" << X(sx(x)) << "\" y=\"" << X(kTop + ph + 16)
      << "\" text-anchor=\"middle\" fill=\"#5f6368\">" << Num(x) << "</text>\n";
  }
  o << "<text x=\"" << X(kLeft + pw / 2) << "\" y=\"" << X(kHeight - 8)
    << "\" text-anchor=\"middle\" fill=\"#5f6368\">" << E(x_label) << "</text>\n";
  o << "<text x=\"12\" y=\"" << X(kTop + ph / 2) << "\" text-anchor=\"middle\" fill=\"#5f6368\""
    << " transform=\"rotate(-90 12 " << X(kTop + ph / 2) << ")\">" << E(y_label) << "</text>\n";
  for (size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    const char* color = kPalette[i % std::size(kPalette)];
    std::vector<std::pair<double, double>> pts = s.points;
    std::sort(pts.begin(), pts.end());
    if (pts.size() > 1) {
      o << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"2\" points=\"";
      for (size_t k = 0; k < pts.size(); ++k) {
        o << (k ? " " : "") << X(sx(pts[k].first)) << "," << X(sy(pts[k].second));
      }
      o << "\"/>\n";
    }
    for (const auto& [x, y] : pts) {
      o << "<g><title>" << E(s.name + ": " + FormatMs(y) + " at " + Num(x)) << "</title>"
        << "<circle cx=\"" << X(sx(x)) << "\" cy=\"" << X(sy(y)) << "\" r=\"3.5\" fill=\"" << color
        << "\"/><text x=\"" << X(sx(x)) << "\" y=\"" << X(sy(y) - 8)
        << "\" text-anchor=\"middle\" fill=\"" << color << "\">" << E(FormatMs(y))
        << "</text></g>\n";
    }
    const double ly = kTop + 8 + 18 * static_cast<double>(i);
    o << "<rect x=\"" << X(kLeft + pw + 16) << "\" y=\"" << X(ly - 8) << "\" width=\"10\""
      << " height=\"10\" fill=\"" << color << "\"/><text x=\"" << X(kLeft + pw + 32) << "\" y=\""
      << X(ly + 1) << "\">" << E(Clip(s.name, 16)) << "</text>\n";
  }
  o << "</svg>\n";
  return o.str();
}

// Two bars per row on one scale, emulated above native, with the ratio at the end: the
// question a cross-arch reader asks is "how much slower is it under QEMU".
std::string PairBarChart(const std::vector<PairRow>& rows, const std::string& title) {
  constexpr double kWidth = 790, kLabel = kLabelWidth, kPlot = 420, kRow = 34, kTop = 28,
                   kBottom = 6;
  double max_value = 0;
  for (const auto& r : rows) {
    if (std::isfinite(r.emulated)) max_value = std::max(max_value, r.emulated);
    if (std::isfinite(r.native)) max_value = std::max(max_value, r.native);
  }
  const Axis axis = NiceAxis(max_value);
  auto w = [&](double v) { return std::clamp(v / axis.max, 0.0, 1.0) * kPlot; };
  const double height = kTop + kRow * static_cast<double>(rows.size()) + kBottom;
  std::ostringstream o;
  o << "<svg class=\"chart\" width=\"" << X(kWidth) << "\" height=\"" << X(height)
    << "\" viewBox=\"0 0 " << X(kWidth) << " " << X(height) << "\" role=\"img\" aria-label=\""
    << E(title) << "\">\n<title>" << E(title) << "</title>\n";
  o << "<rect x=\"" << X(kLabel) << "\" y=\"6\" width=\"10\" height=\"10\" fill=\""
    << kEmulatedColor << "\"/><text x=\"" << X(kLabel + 14) << "\" y=\"15\">emulated</text>"
    << "<rect x=\"" << X(kLabel + 90) << "\" y=\"6\" width=\"10\" height=\"10\" fill=\""
    << kNativeColor << "\"/><text x=\"" << X(kLabel + 104) << "\" y=\"15\">native</text>"
    << "<text x=\"" << X(kLabel + kPlot + 90) << "\" y=\"15\" fill=\"#5f6368\">ms, ratio</text>\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const PairRow& r = rows[i];
    const double y = kTop + kRow * static_cast<double>(i);
    std::string tip = r.label + ": emulated " + FormatMs(r.emulated) + " ms, native " +
                      FormatMs(r.native) + " ms";
    o << "<g><title>" << E(tip) << "</title><text x=\"" << X(kLabel - 8) << "\" y=\"" << X(y + 16)
      << "\" text-anchor=\"end\">" << E(Clip(r.label, kLabelChars)) << "</text>";
    int k = 0;
    for (const auto& [v, color] :
         {std::pair{r.emulated, kEmulatedColor}, std::pair{r.native, kNativeColor}}) {
      const double by = y + 3 + 13 * k++;
      if (!std::isfinite(v)) continue;
      o << "<rect x=\"" << X(kLabel) << "\" y=\"" << X(by) << "\" width=\""
        << X(std::max(w(v), 1.0)) << "\" height=\"11\" fill=\"" << color << "\"/><text x=\""
        << X(kLabel + w(v) + 4) << "\" y=\"" << X(by + 9.5) << "\" fill=\"#5f6368\">" << FormatMs(v)
        << "</text>";
    }
    if (std::isfinite(r.emulated) && std::isfinite(r.native) && r.native > 0) {
      o << "<text x=\"" << X(kLabel + kPlot + 90) << "\" y=\"" << X(y + 16)
        << "\" font-weight=\"600\">\u00d7" << FormatMs(r.emulated / r.native) << "</text>";
    }
    o << "</g>\n";
  }
  o << "</svg>\n";
  return o.str();
}

}  // namespace polyarch::svg
