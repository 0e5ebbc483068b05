// Inline SVG charts (see svg_chart.h): an axis with "nice" ticks (linear or
// decades), horizontal grouped bars, and a labelled scatter plot.
#include "eval/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "eval/text_substitution.h"

namespace qp::eval::svg {
namespace {

// Red is kept for failures, so the series palette has none.
constexpr const char* kPalette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#b07aa1",
                                    "#76b7b2", "#edc948", "#9c755f", "#bab0ac"};
constexpr const char* kFailColor = "#d62728";
constexpr double kWidth = 570;  // scatter width: two charts side by side on a 1180 px page

const char* color(size_t index) { return kPalette[index % std::size(kPalette)]; }

std::string px(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", value);
  return buffer;
}

std::string text_element(double x, double y, std::string_view text, std::string_view attributes = "") {
  std::string out = "<text x=\"" + px(x) + "\" y=\"" + px(y) + "\"";
  if (!attributes.empty()) out.append(" ").append(attributes);
  return out + ">" + escape(text) + "</text>";
}

// Long names (tensor paths) keep their tail, the part that tells them apart.
std::string shorten(const std::string& text, size_t max_chars) {
  if (text.size() <= max_chars) return text;
  return "\u2026" + text.substr(text.size() - (max_chars - 1));
}

struct Axis {
  double lo = 0, hi = 1;
  bool log = false;
  std::vector<double> ticks;

  double fraction(double v) const {
    if (log) {
      v = std::max(v, lo);
      return (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo));
    }
    return (v - lo) / (hi - lo);
  }
};

double nice_step(double range, int count) {
  const double raw = range / count;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / magnitude;
  const double step = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10;
  return step * magnitude;
}

Axis linear_axis(double lo, double hi, int count = 5) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (!(hi > lo)) hi = lo + (lo == 0 ? 1 : std::abs(lo) * 0.1);
  const double step = nice_step(hi - lo, count);
  Axis axis;
  axis.lo = std::floor(lo / step) * step;
  axis.hi = std::ceil(hi / step) * step;
  for (int i = 0; axis.lo + i * step <= axis.hi + step * 1e-6; ++i) axis.ticks.push_back(axis.lo + i * step);
  return axis;
}

Axis log_axis(double min_positive, double max) {
  Axis axis;
  axis.log = true;
  const int first = static_cast<int>(std::floor(std::log10(min_positive)));
  int last = static_cast<int>(std::ceil(std::log10(max)));
  if (last <= first) last = first + 1;
  axis.lo = std::pow(10.0, first);
  axis.hi = std::pow(10.0, last);
  const int stride = last - first > 8 ? 2 : 1;
  for (int e = first; e <= last; e += stride) axis.ticks.push_back(std::pow(10.0, e));
  return axis;
}

Axis value_axis(const BarChart& chart) {
  double min_positive = INFINITY, max = 0;
  for (const auto& row : chart.values)
    for (const auto& v : row)
      if (v && std::isfinite(*v)) {
        max = std::max(max, *v);
        if (*v > 0) min_positive = std::min(min_positive, *v);
      }
  const bool wide = std::isfinite(min_positive) && max / min_positive >= 100;
  const bool log =
      chart.scale == Scale::Log ? std::isfinite(min_positive) : chart.scale == Scale::Auto && wide;
  return log ? log_axis(min_positive, max) : linear_axis(0, max > 0 ? max : 1);
}

std::string tick_text(const Axis& axis, double v) {
  if (!axis.log) return short_number(std::abs(v) < 1e-12 ? 0 : v);
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "1e%d", static_cast<int>(std::lround(std::log10(v))));
  return buffer;
}

std::string svg_open(double width, double height, const std::string& title) {
  return "<svg class=\"chart\" role=\"img\" width=\"" + px(width) + "\" height=\"" + px(height) +
         "\" viewBox=\"0 0 " + px(width) + " " + px(height) + "\" aria-label=\"" + escape(title) + "\">" +
         text_element(10, 18, title, "class=\"chart-title\"");
}

std::string legend(const std::vector<std::string>& names, double y, bool with_failed) {
  std::string out;
  double x = 10;
  auto item = [&](const std::string& name, const char* fill) {
    out += "<rect x=\"" + px(x) + "\" y=\"" + px(y - 9) + "\" width=\"10\" height=\"10\" fill=\"" + fill +
           "\"/>";
    out += text_element(x + 14, y, name, "class=\"legend\"");
    x += 28 + 6.5 * static_cast<double>(name.size());
  };
  for (size_t i = 0; i < names.size(); ++i) item(names[i], color(i));
  if (with_failed) item("failed gate", kFailColor);
  return out;
}

// Vertical grid lines and tick labels of a horizontal value axis.
std::string x_grid(const Axis& axis, double x0, double x1, double y0, double y1) {
  std::string out;
  for (double t : axis.ticks) {
    const double x = x0 + axis.fraction(t) * (x1 - x0);
    out += "<line class=\"grid\" x1=\"" + px(x) + "\" y1=\"" + px(y0) + "\" x2=\"" + px(x) + "\" y2=\"" +
           px(y1) + "\"/>";
    out += text_element(x, y1 + 14, tick_text(axis, t), "class=\"tick\" text-anchor=\"middle\"");
  }
  return out;
}

}  // namespace

std::string escape(std::string_view text) {
  static constexpr CharSubstitution kHtml[] = {
      {'&', "&amp;"}, {'<', "&lt;"}, {'>', "&gt;"}, {'"', "&quot;"}, {'\'', "&#39;"},
  };
  return substitute_chars(text, kHtml);
}

std::string short_number(double value) {
  if (!std::isfinite(value)) return "n/a";
  char buffer[32];
  const double magnitude = std::abs(value);
  if (magnitude != 0 && (magnitude < 1e-3 || magnitude >= 1e6))
    std::snprintf(buffer, sizeof buffer, "%.2g", value);
  else
    std::snprintf(buffer, sizeof buffer, "%.4g", value);
  return buffer;
}

std::string bar_chart(const BarChart& chart) {
  const size_t series = std::max<size_t>(1, chart.series.size());
  size_t longest = 4;
  const size_t max_chars = chart.width < 800 ? 34 : 60;
  for (const std::string& c : chart.categories) longest = std::max(longest, std::min(c.size(), max_chars));
  const double label_w = 6.2 * static_cast<double>(longest) + 12;
  const double x0 = label_w + 8, x1 = chart.width - 64, y0 = 50, bar_h = 11, gap = 7;
  const double group_h = static_cast<double>(series) * bar_h + gap;
  const double y1 = y0 + static_cast<double>(chart.categories.size()) * group_h;
  const Axis axis = value_axis(chart);

  std::string out = svg_open(chart.width, y1 + 42, chart.title) + legend(chart.series, 38, false);
  out += x_grid(axis, x0, x1, y0, y1);
  for (size_t c = 0; c < chart.categories.size(); ++c) {
    const double top = y0 + static_cast<double>(c) * group_h + gap / 2;
    const bool failed = c < chart.category_failed.size() && chart.category_failed[c];
    out += "<g><title>" + escape(chart.categories[c]) + "</title>";
    out += text_element(
        label_w, top + static_cast<double>(series) * bar_h / 2 + 4, shorten(chart.categories[c], max_chars),
        failed ? "class=\"label fail\" text-anchor=\"end\"" : "class=\"label\" text-anchor=\"end\"");
    out += "</g>";
    const auto& row = c < chart.values.size() ? chart.values[c] : std::vector<std::optional<double>>{};
    for (size_t s = 0; s < row.size() && s < series; ++s) {
      if (!row[s] || !std::isfinite(*row[s])) continue;
      const double v = *row[s], y = top + static_cast<double>(s) * bar_h;
      const double w = (axis.log && v <= 0) ? 0 : std::clamp(axis.fraction(v), 0.0, 1.0) * (x1 - x0);
      out += "<rect x=\"" + px(x0) + "\" y=\"" + px(y) + "\" width=\"" + px(w) + "\" height=\"" +
             px(bar_h - 1) + "\" fill=\"" + color(s) + "\"><title>" +
             escape(chart.categories[c] + (s < chart.series.size() ? " / " + chart.series[s] : "") + ": " +
                    short_number(v)) +
             "</title></rect>";
      out += text_element(x0 + w + 3, y + bar_h - 2, short_number(v), "class=\"value\"");
    }
  }
  out += "<line class=\"axis\" x1=\"" + px(x0) + "\" y1=\"" + px(y0) + "\" x2=\"" + px(x0) + "\" y2=\"" +
         px(y1) + "\"/>";
  const std::string caption = chart.value_label + (axis.log ? " (log scale)" : "");
  out += text_element((x0 + x1) / 2, y1 + 34, caption, "class=\"caption\" text-anchor=\"middle\"");
  return out + "</svg>";
}

std::string scatter_chart(const ScatterChart& chart) {
  const double height = 380, x0 = 72, x1 = kWidth - 40, y0 = 50, y1 = height - 56;
  double max_x = 0, min_y = INFINITY, max_y = -INFINITY;
  bool any_failed = false;
  for (const ScatterPoint& p : chart.points) {
    if (!std::isfinite(p.x) || !std::isfinite(p.y)) continue;
    max_x = std::max(max_x, p.x);
    min_y = std::min(min_y, p.y);
    max_y = std::max(max_y, p.y);
    any_failed = any_failed || p.failed;
  }
  if (!std::isfinite(min_y)) min_y = 0, max_y = 1;
  const double pad = max_y > min_y ? (max_y - min_y) * 0.15 : 0.01;
  const Axis ax = linear_axis(0, max_x > 0 ? max_x * 1.05 : 1);
  const Axis ay = linear_axis(min_y - pad, max_y + pad);

  std::string out = svg_open(kWidth, height, chart.title) + legend(chart.series, 38, any_failed);
  out += x_grid(ax, x0, x1, y0, y1);
  for (double t : ay.ticks) {
    const double y = y1 - ay.fraction(t) * (y1 - y0);
    out += "<line class=\"grid\" x1=\"" + px(x0) + "\" y1=\"" + px(y) + "\" x2=\"" + px(x1) + "\" y2=\"" +
           px(y) + "\"/>";
    out += text_element(x0 - 6, y + 4, tick_text(ay, t), "class=\"tick\" text-anchor=\"end\"");
  }
  out += "<rect class=\"frame\" x=\"" + px(x0) + "\" y=\"" + px(y0) + "\" width=\"" + px(x1 - x0) +
         "\" height=\"" + px(y1 - y0) + "\"/>";
  for (size_t i = 0; i < chart.points.size(); ++i) {
    const ScatterPoint& p = chart.points[i];
    if (!std::isfinite(p.x) || !std::isfinite(p.y)) continue;
    const double x = x0 + ax.fraction(p.x) * (x1 - x0), y = y1 - ay.fraction(p.y) * (y1 - y0);
    const char* fill = p.failed ? kFailColor : color(static_cast<size_t>(std::max(0, p.series)));
    out += "<g><title>" + escape(p.label + ": " + short_number(p.x) + ", " + short_number(p.y)) + "</title>";
    out += "<circle cx=\"" + px(x) + "\" cy=\"" + px(y) + "\" r=\"5\" fill=\"" + fill + "\"/>";
    const bool right_edge = x > x0 + 0.75 * (x1 - x0);
    const double dy = i % 2 ? 14 : -7;  // alternate above/below so neighbours do not overlap
    out += text_element(right_edge ? x - 8 : x + 8, y + dy, p.label,
                        std::string(p.failed ? "class=\"label fail\"" : "class=\"label\"") +
                            (right_edge ? " text-anchor=\"end\"" : ""));
    out += "</g>";
  }
  out += text_element((x0 + x1) / 2, y1 + 36, chart.x_label, "class=\"caption\" text-anchor=\"middle\"");
  out += text_element(
      16, (y0 + y1) / 2, chart.y_label,
      "class=\"caption\" text-anchor=\"middle\" transform=\"rotate(-90 16 " + px((y0 + y1) / 2) + ")\"");
  return out + "</svg>";
}

}  // namespace qp::eval::svg
