// Inline SVG charts for self-contained HTML pages (the run report, the server's dashboard): no
// script, no external resource, every label escaped. Inline functions, so that the report (in the
// core library) and the dashboard (in the server library) share them without a library of their own.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "core/number_format.hpp"
#include "outputs/html_escape.hpp"

namespace carbonmeter {

// One colour per quantity, the same on every page.
namespace chart_colour {
inline constexpr const char* kCpu = "#d95f02";
inline constexpr const char* kRam = "#7570b3";
inline constexpr const char* kGpu = "#1b9e77";
inline constexpr const char* kIntensity = "#e7298a";
inline constexpr const char* kEmissions = "#66a61e";
}  // namespace chart_colour

struct ChartSeries {
  std::string name;
  std::string colour;
  std::vector<double> values;
};

// How an x value reads on the axis ("90 s", "2024-06-01").
using AxisLabel = std::function<std::string(double)>;

// Time from the start as an axis reads it: "45 s", "12.5 min", "3.2 h", "4.5 d" (at most three
// significant figures, never an exponent). The run report's and the dashboard's charts use it.
inline std::string elapsed_label(double t_s) {
  if (t_s < 120) return format_significant(t_s, 3) + " s";
  if (t_s < 7200) return format_significant(t_s / 60, 3) + " min";
  if (t_s < 172800) return format_significant(t_s / 3600, 3) + " h";
  return format_significant(t_s / 86400, 3) + " d";
}

namespace chart_detail {

constexpr double kWidth = 720, kHeight = 220, kLeft = 60, kBottom = 30, kTop = 10;

// The frame, the top value of the y axis and its unit.
inline std::string frame(const std::string& id, const std::string& title, const std::string& unit,
                         double max_value) {
  std::string out = fmt::format(
      R"(<figure id="{}"><figcaption>{}</figcaption><svg class="chart" width="{}" height="{}" viewBox="0 0 {} {}" role="img" aria-label="{}">)",
      html_escape(id), html_escape(title), kWidth, kHeight, kWidth, kHeight, html_escape(title));
  out += fmt::format(
      R"(<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="#888"/><line x1="{0}" y1="{3}" x2="{0}" y2="{1}" stroke="#888"/>)",
      kLeft, kHeight - kBottom, kWidth - 10, kTop);
  out +=
      fmt::format(R"(<text x="4" y="{}" font-size="11">{}</text><text x="4" y="{}" font-size="11">0</text>)",
                  kTop + 10, format_significant(max_value, 3), kHeight - kBottom);
  out += fmt::format(R"(<text x="4" y="{}" font-size="11">{}</text>)", kTop + 24, html_escape(unit));
  return out;
}

// Over the plot's top left corner, on a light backing so that it reads over the data.
inline std::string legend(const std::vector<ChartSeries>& series) {
  std::string out =
      fmt::format(R"(<rect x="{}" y="{}" width="{}" height="14" fill="#fff" fill-opacity="0.8"/>)", kLeft + 6,
                  kTop - 2, 90.0 * static_cast<double>(series.size()));
  double legend_x = kLeft + 10;
  for (const ChartSeries& s : series) {
    out += fmt::format(
        R"(<rect x="{}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{}" font-size="11">{}</text>)",
        legend_x, kTop, html_escape(s.colour), legend_x + 14, kTop + 9, html_escape(s.name));
    legend_x += 90;
  }
  return out;
}

}  // namespace chart_detail

// A chart of one or more series over x (time from 0, in any unit `x_label` reads). Rates
// (power, intensity) are drawn as steps: each value holds over its own interval, which ends at
// times[k]. A running total is drawn as a line from (0, 0) (steps = false). stacked adds each
// series on the ones before.
inline std::string svg_line_chart(const std::string& id, const std::string& title, const std::string& unit,
                                  const std::vector<double>& times, const std::vector<ChartSeries>& series,
                                  bool stacked, bool steps = true, const AxisLabel& x_label = elapsed_label) {
  using namespace chart_detail;
  const std::size_t n = times.size();
  std::vector<std::vector<double>> tops(series.size(), std::vector<double>(n, 0.0));
  double max_value = 0.0;
  for (std::size_t k = 0; k < n; ++k) {
    double base = 0.0;
    for (std::size_t s = 0; s < series.size(); ++s) {
      const double value = k < series[s].values.size() ? series[s].values[k] : 0.0;
      tops[s][k] = stacked ? base + value : value;
      base = tops[s][k];
      max_value = std::max(max_value, tops[s][k]);
    }
  }
  if (max_value <= 0) max_value = 1.0;
  const double t_max = n > 0 && times.back() > 0 ? times.back() : 1.0;
  auto x = [&](double t) { return kLeft + (kWidth - kLeft - 10) * t / t_max; };
  auto y = [&](double v) { return kTop + (kHeight - kTop - kBottom) * (1.0 - v / max_value); };
  std::string out = frame(id, title, unit, max_value);
  const std::string end_label = x_label(t_max);
  out += fmt::format(R"(<text x="{}" y="{}" font-size="11" text-anchor="end">{}</text>)", kWidth - 4,
                     kHeight - 8, html_escape(end_label));
  std::string previous_label;
  for (int tick = 1; tick < 4; ++tick) {  // x ticks at quarters, each label once
    std::string label = x_label(t_max * tick / 4);
    if (label == previous_label || label == end_label)
      label.clear();
    else
      previous_label = label;
    out += fmt::format(
        R"(<line x1="{0:.1f}" y1="{1}" x2="{0:.1f}" y2="{2}" stroke="#888"/><text x="{3:.1f}" y="{4}" font-size="11">{5}</text>)",
        x(t_max * tick / 4), kHeight - kBottom, kHeight - kBottom + 4, x(t_max * tick / 4) - 12, kHeight - 8,
        html_escape(label));
  }
  auto path_of = [&](const std::vector<double>& values) {
    std::string points;
    if (!steps) points += fmt::format("{:.1f},{:.1f} ", x(0), y(0));
    for (std::size_t k = 0; k < n; ++k) {
      if (steps) points += fmt::format("{:.1f},{:.1f} ", x(k ? times[k - 1] : 0.0), y(values[k]));
      points += fmt::format("{:.1f},{:.1f} ", x(times[k]), y(values[k]));
    }
    return points;
  };
  for (std::size_t s = series.size(); s-- > 0;) {
    std::string points;
    if (stacked) {
      points += fmt::format("{:.1f},{:.1f} ", x(0), y(0));
      points += path_of(tops[s]);
      points += fmt::format("{:.1f},{:.1f}", x(t_max), y(0));
      out += fmt::format(
          R"(<polygon class="series" data-series="{}" points="{}" fill="{}" fill-opacity="0.85"/>)",
          html_escape(series[s].name), points, html_escape(series[s].colour));
    } else {
      points = path_of(tops[s]);
      out += fmt::format(
          R"(<polyline class="series" data-series="{}" points="{}" fill="none" stroke="{}" stroke-width="2"/>)",
          html_escape(series[s].name), points, html_escape(series[s].colour));
    }
  }
  return out + legend(series) + "</svg></figure>\n";
}

// One bar per label, its series stacked, with the label and value as a tooltip. `links` (one
// per label, "" for none) makes a bar a link. A long label is shortened on the axis only.
inline std::string svg_bar_chart(const std::string& id, const std::string& title, const std::string& unit,
                                 const std::vector<std::string>& labels,
                                 const std::vector<ChartSeries>& series,
                                 const std::vector<std::string>& links = {}) {
  using namespace chart_detail;
  const std::size_t n = labels.size();
  auto value_at = [&](std::size_t s, std::size_t k) {
    return k < series[s].values.size() ? std::max(0.0, series[s].values[k]) : 0.0;
  };
  double max_value = 0.0;
  for (std::size_t k = 0; k < n; ++k) {
    double total = 0.0;
    for (std::size_t s = 0; s < series.size(); ++s) total += value_at(s, k);
    max_value = std::max(max_value, total);
  }
  if (max_value <= 0) max_value = 1.0;
  const double plot_w = kWidth - kLeft - 10, plot_h = kHeight - kTop - kBottom;
  const double slot = n > 0 ? plot_w / static_cast<double>(n) : plot_w;
  const double bar_w = std::max(0.5, slot * (n > 1 ? 0.8 : 0.5));
  std::string out = frame(id, title, unit, max_value);
  for (std::size_t k = 0; k < n; ++k) {
    const double left = kLeft + slot * static_cast<double>(k) + (slot - bar_w) / 2;
    double total = 0.0;
    for (std::size_t s = 0; s < series.size(); ++s) total += value_at(s, k);
    const std::string link = k < links.size() ? links[k] : "";
    out += fmt::format(R"(<g class="bar" data-key="{}">)", html_escape(labels[k]));
    if (!link.empty()) out += fmt::format(R"(<a href="{}">)", html_escape(link));
    out += fmt::format("<title>{}: {} {}</title>", html_escape(labels[k]), format_significant(total, 4),
                       html_escape(unit));
    double base = 0.0;
    for (std::size_t s = 0; s < series.size(); ++s) {
      const double value = value_at(s, k);
      if (value <= 0) continue;
      const double top = kTop + plot_h * (1.0 - (base + value) / max_value);
      const double height = plot_h * value / max_value;
      out += fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}"/>)", left,
                         top, bar_w, std::max(height, 0.5), html_escape(series[s].colour));
      base += value;
    }
    if (!link.empty()) out += "</a>";
    out += "</g>";
  }
  // At most six labels on the axis, evenly spread, the first and the last among them.
  const std::size_t shown = std::min<std::size_t>(n, 6);
  for (std::size_t i = 0; i < shown; ++i) {
    const std::size_t k = shown > 1 ? i * (n - 1) / (shown - 1) : 0;
    std::string label = labels[k];
    if (label.size() > 14) {
      std::size_t cut = 12;
      while (cut > 0 && (static_cast<unsigned char>(label[cut]) & 0xC0) == 0x80) --cut;  // UTF-8
      label = label.substr(0, cut) + "…";
    }
    out += fmt::format(R"(<text x="{:.1f}" y="{}" font-size="10" text-anchor="middle">{}</text>)",
                       kLeft + slot * (static_cast<double>(k) + 0.5), kHeight - 12, html_escape(label));
  }
  if (series.size() > 1) out += legend(series);
  return out + "</svg></figure>\n";
}

}  // namespace carbonmeter
