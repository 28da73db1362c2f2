// The report page's charts as SVG, drawn from plain values: box plots of latency
// distributions, line charts of a value against a level (starts/s against concurrency), and
// pairs of bars (emulated against native). No JavaScript, no fonts beyond the page's, stable
// output (one decimal per coordinate) so golden files can pin it.
#ifndef POLYARCH_HARNESS_REPORT_SVG_CHARTS_H_
#define POLYARCH_HARNESS_REPORT_SVG_CHARTS_H_

#include <cmath>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "harness/report/stats.h"

namespace polyarch::svg {

// A coordinate with one decimal, "12" for a round one.
std::string X(double v);
// Round numbers without decimals ("25", "4"), others with up to 3 significant digits.
std::string Num(double v);

// Labels are right-aligned at the edge of this column and clipped to what fits at the chart
// font (11px; 7px covers the widest common characters), so none runs off the picture.
inline constexpr double kLabelWidth = 200;
inline constexpr size_t kLabelChars = static_cast<size_t>((kLabelWidth - 8) / 7);
// `s`, cut to `max_chars` characters with an ellipsis when longer.
std::string Clip(const std::string& s, size_t max_chars);

struct BoxRow {
  std::string label;
  Distribution d;  // milliseconds
  int errors = 0;
  int expected_refusals = 0;  // failures a case required: shown apart, not in red
};
// Horizontal box plots on one shared scale, with the numbers printed beside each row.
std::string BoxChart(const std::vector<BoxRow>& rows, const std::string& title);

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y)
};
// Points joined by lines, x values placed evenly in sorted order.
std::string LineChart(const std::vector<Series>& series, const std::string& title,
                      const std::string& x_label, const std::string& y_label);

struct PairRow {
  std::string label;
  double emulated = NAN;  // ms; NAN: not measured
  double native = NAN;
};
// Two bars per row, emulated and native, and their ratio.
std::string PairBarChart(const std::vector<PairRow>& rows, const std::string& title);

}  // namespace polyarch::svg

#endif  // POLYARCH_HARNESS_REPORT_SVG_CHARTS_H_
