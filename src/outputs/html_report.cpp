#include "outputs/html_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace carbonmeter {
namespace {

using nlohmann::json;

constexpr double kWidth = 720, kHeight = 220, kLeft = 60, kBottom = 30, kTop = 10;

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

double number(const json& value) { return value.is_number() ? value.get<double>() : 0.0; }

struct Series {
  std::string name;
  std::string colour;
  std::vector<double> values;
};

// A chart of one or more series over time; stacked adds each series on the ones before.
std::string svg_chart(const std::string& id, const std::string& title, const std::string& unit,
                      const std::vector<double>& times, const std::vector<Series>& series, bool stacked) {
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
  std::string out = fmt::format(
      R"(<figure id="{}"><figcaption>{}</figcaption><svg class="chart" width="{}" height="{}" viewBox="0 0 {} {}" role="img" aria-label="{}">)",
      id, escape(title), kWidth, kHeight, kWidth, kHeight, escape(title));
  out += fmt::format(
      R"(<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="#888"/><line x1="{0}" y1="{3}" x2="{0}" y2="{1}" stroke="#888"/>)",
      kLeft, kHeight - kBottom, kWidth - 10, kTop);
  out += fmt::format(
      R"(<text x="4" y="{}" font-size="11">{:.3g}</text><text x="4" y="{}" font-size="11">0</text>)",
      kTop + 10, max_value, kHeight - kBottom);
  out += fmt::format(
      R"(<text x="{}" y="{}" font-size="11">{}</text><text x="{}" y="{}" font-size="11">{:.0f} s</text>)", 4,
      kTop + 24, escape(unit), kWidth - 60, kHeight - 8, t_max);
  for (std::size_t s = series.size(); s-- > 0;) {
    std::string points;
    if (stacked) {
      points += fmt::format("{:.1f},{:.1f} ", x(0), y(0));
      for (std::size_t k = 0; k < n; ++k) points += fmt::format("{:.1f},{:.1f} ", x(times[k]), y(tops[s][k]));
      points += fmt::format("{:.1f},{:.1f}", x(t_max), y(0));
      out += fmt::format(
          R"(<polygon class="series" data-series="{}" points="{}" fill="{}" fill-opacity="0.85"/>)",
          escape(series[s].name), points, series[s].colour);
    } else {
      for (std::size_t k = 0; k < n; ++k) points += fmt::format("{:.1f},{:.1f} ", x(times[k]), y(tops[s][k]));
      out += fmt::format(
          R"(<polyline class="series" data-series="{}" points="{}" fill="none" stroke="{}" stroke-width="2"/>)",
          escape(series[s].name), points, series[s].colour);
    }
  }
  double legend_x = kLeft + 10;
  for (const Series& s : series) {
    out += fmt::format(
        R"(<rect x="{}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{}" font-size="11">{}</text>)",
        legend_x, kTop, s.colour, legend_x + 14, kTop + 9, escape(s.name));
    legend_x += 90;
  }
  return out + "</svg></figure>\n";
}

}  // namespace

std::string html_report(const json& run) {
  std::vector<double> times;
  Series cpu{"cpu", "#d95f02", {}}, ram{"ram", "#7570b3", {}}, gpu{"gpu", "#1b9e77", {}};
  if (run.contains("samples") && run["samples"].is_array()) {
    for (const json& sample : run["samples"]) {
      times.push_back(number(sample.value("t_s", json(0))));
      const json power = sample.value("power_w", json::object());
      cpu.values.push_back(number(power.value("cpu", json(0))));
      ram.values.push_back(number(power.value("ram", json(0))));
      gpu.values.push_back(number(power.value("gpu", json(0))));
    }
  }
  Series intensity{"g/kWh", "#e7298a", {}}, cumulative{"g CO2e", "#66a61e", {}};
  if (run.contains("sample_intensity_g_per_kwh"))
    for (const json& v : run["sample_intensity_g_per_kwh"]) intensity.values.push_back(number(v));
  double sum = 0.0;
  if (run.contains("sample_emissions_g"))
    for (const json& v : run["sample_emissions_g"]) cumulative.values.push_back(sum += number(v));

  const json energy = run.value("energy_j", json::object());
  const json method = run.value("method", json::object());
  std::string out = R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>carbonmeter report</title>
<style>body{font-family:sans-serif;max-width:760px;margin:2em auto;color:#222}figure{margin:1.5em 0}
figcaption{font-weight:bold;margin-bottom:.3em}table{border-collapse:collapse}td,th{padding:.2em .8em;border-bottom:1px solid #ddd;text-align:left}
.note{color:#555;font-size:.9em}</style></head><body>
)";
  out +=
      fmt::format("<h1>carbonmeter report: {}</h1>\n", escape(run.value("project_name", std::string("run"))));
  std::string command;
  if (run.contains("command"))
    for (const json& word : run["command"]) command += (command.empty() ? "" : " ") + word.get<std::string>();
  out +=
      fmt::format("<p><code>{}</code> — {} — {:.2f} s</p>\n", escape(command),
                  escape(run.value("start_time", std::string())), number(run.value("duration_s", json(0))));
  out += "<table id=\"summary\"><tr><th>component</th><th>energy (J)</th><th>method</th></tr>\n";
  for (const char* c : {"cpu", "ram", "gpu"})
    out += fmt::format("<tr><td>{}</td><td>{:.2f}</td><td>{}</td></tr>\n", c,
                       number(energy.value(c, json(0))), escape(method.value(c, std::string("none"))));
  out += fmt::format("<tr><td>total</td><td>{:.2f}</td><td></td></tr>\n",
                     number(energy.value("total", json(0))));
  if (run.contains("emissions_g")) {
    const json range = run.value("emissions_range_g", json::array({0, 0}));
    const json where = run.value("intensity", json::object());
    out += fmt::format("<tr><td>CO2e</td><td>{:.4g} g (range {:.4g}–{:.4g} g)</td><td>{}</td></tr>\n",
                       number(run["emissions_g"]), number(range[0]), number(range[1]),
                       escape(where.value("how", std::string())));
  }
  out += "</table>\n";
  out += svg_chart("power", "Power over time, stacked by component", "W", times, {cpu, ram, gpu}, true);
  if (!intensity.values.empty()) {
    out += svg_chart("intensity", "Carbon intensity over time", "g/kWh", times, {intensity}, false);
    out += svg_chart("emissions", "Cumulative emissions", "g CO2e", times, {cumulative}, false);
  }
  if (run.contains("equivalents") && !run["equivalents"].empty()) {
    out +=
        "<h2>Equivalents</h2><table "
        "id=\"equivalents\"><tr><th>about</th><th>unit</th><th>factor</th><th>source</th></tr>\n";
    for (const json& e : run["equivalents"])
      out += fmt::format("<tr><td>{:.3g}</td><td>{}</td><td>{:.4g} g per {}</td><td>{} ({})</td></tr>\n",
                         number(e["amount"]), escape(e.value("item", std::string())),
                         number(e["g_co2e_per_unit"]), escape(e.value("unit", std::string())),
                         escape(e.value("source", std::string())), escape(e.value("vintage", std::string())));
    out += "</table>\n";
  }
  if (run.contains("notes"))
    for (const json& note : run["notes"])
      out += "<p class=\"note\">" + escape(note.get<std::string>()) + "</p>\n";
  return out + "</body></html>\n";
}

}  // namespace carbonmeter
