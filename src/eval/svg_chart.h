// Hand-written inline SVG charts for the HTML report: horizontal grouped bars
// (linear or log scale) and a labelled scatter plot. The output is an <svg>
// element meant to sit inside an HTML page (no xmlns, no scripts, no external
// references); every text it draws is escaped.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qp::eval::svg {

// Escapes & < > " ' for HTML text and attribute values (SVG inside HTML too).
std::string escape(std::string_view text);

// Short number text for labels: 4 significant digits, exponent form for very
// small or large values ("1.2e-05").
std::string short_number(double value);

enum class Scale { Auto, Linear, Log };  // Auto: log when the positive values span ≥ 100×

// One row per category; within it one bar per series. A missing value draws no bar.
struct BarChart {
  std::string title;
  std::string value_label;  // axis caption, e.g. "latency (ms)"
  std::vector<std::string> categories;
  std::vector<std::string> series;                         // legend names
  std::vector<std::vector<std::optional<double>>> values;  // [category][series]
  std::vector<bool> category_failed;                       // optional: category label in red
  Scale scale = Scale::Auto;
  double width = 570;  // px; two charts fit side by side on the report page
};
std::string bar_chart(const BarChart& chart);

struct ScatterPoint {
  std::string label;
  double x = 0, y = 0;
  int series = 0;       // index into ScatterChart::series (colour)
  bool failed = false;  // drawn red
};

struct ScatterChart {
  std::string title, x_label, y_label;
  std::vector<std::string> series;
  std::vector<ScatterPoint> points;
};
std::string scatter_chart(const ScatterChart& chart);

}  // namespace qp::eval::svg
