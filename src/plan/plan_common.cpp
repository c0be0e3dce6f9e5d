// What both strategies share: request checks, the baseline, a plan's figures, and the words of
// their errors.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>
#include <string>

#include "plan/plan_detail.hpp"

namespace carbonmeter::plan_detail {

std::string format_time(double unix_s) {
  if (!std::isfinite(unix_s) || std::abs(unix_s) > 1e13) return std::to_string(unix_s);
  const double whole = std::floor(unix_s);
  const std::time_t seconds = static_cast<std::time_t>(whole);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::string out = text;
  if (const double fraction = unix_s - whole; fraction > 5e-4) {
    char digits[16];
    std::snprintf(digits, sizeof digits, "%.3f", fraction);
    out += digits + 1;  // ".250"
  }
  return out + "Z";
}

std::string format_duration(double s) {
  char text[64];
  if (std::abs(s) < 120) {
    std::snprintf(text, sizeof text, "%g s", s);
  } else if (std::abs(s) < 7200) {
    std::snprintf(text, sizeof text, "%g min", std::round(s / 60 * 100) / 100);
  } else {
    std::snprintf(text, sizeof text, "%g h", std::round(s / 3600 * 100) / 100);
  }
  return text;
}

std::string describe_reach(const PreparedSeries& series, double from) {
  const auto& values = series.series().g_per_kwh;
  const auto& times = series.times_unix_s();
  const auto& forecast = series.series().forecast;
  // Where the forecast steps that end the series begin (the series' own data ends there).
  std::size_t measured = values.size();
  while (measured > 0 && !forecast.empty() && forecast[measured - 1]) --measured;
  std::string covers = "the series covers " + format_time(series.start_unix_s()) + " to ";
  if (measured == values.size()) {
    covers += format_time(series.end_unix_s());
  } else {
    covers += format_time(times[measured]) + ", then a forecast until " + format_time(series.end_unix_s());
  }
  if (from < series.start_unix_s()) return covers + ", which starts after " + format_time(from);
  if (from >= series.end_unix_s()) return covers + ", which ends before " + format_time(from);
  std::size_t i = series.step_at(from);
  if (std::isnan(values[i])) {
    std::size_t end = i;
    while (end < values.size() && std::isnan(values[end])) ++end;
    return "the intensity is unknown from " + format_time(times[i]) + " to " + format_time(times[end]) +
           " (" + covers + ")";
  }
  while (i < values.size() && !std::isnan(values[i])) ++i;
  const bool gap = i < values.size();
  return "known values from " + format_time(from) + " reach only until " + format_time(times[i]) +
         (gap ? " (then a gap; " : " (") + covers + ")";
}

std::vector<Interval> merge_touching(std::vector<Interval> pieces) {
  std::sort(pieces.begin(), pieces.end());
  std::vector<Interval> out;
  for (const auto& piece : pieces) {
    if (!out.empty() && out.back().second == piece.first) {
      out.back().second = piece.second;
    } else {
      out.push_back(piece);
    }
  }
  return out;
}

Status check_request(const PlanRequest& request, std::string_view strategy) {
  const std::string what(strategy);
  const auto finite = [](double v) { return std::isfinite(v); };
  if (!finite(request.not_before_unix_s) || !finite(request.duration_s) || !finite(request.window_s) ||
      !finite(request.min_run_s) || !finite(request.pause_cost_g) || !finite(request.power_w)) {
    return Error{what + ": every figure of the request must be a finite number"};
  }
  if (request.duration_s <= 0) {
    return Error{what + ": the duration must be > 0 (got " + format_duration(request.duration_s) + ")"};
  }
  if (request.window_s < 0) {
    return Error{what +
                 (strategy == "pause-resume"
                      ? ": the maximum delay must be >= 0: the span would be shorter than the duration"
                      : ": the start window must be >= 0") +
                 " (got " + format_duration(request.window_s) + ")"};
  }
  if (request.min_run_s < 0) return Error{what + ": the minimum run length must be >= 0"};
  if (request.min_run_s > request.duration_s) {
    return Error{what + ": the minimum run length (" + format_duration(request.min_run_s) +
                 ") is longer than the duration (" + format_duration(request.duration_s) + ")"};
  }
  if (request.pause_cost_g < 0) return Error{what + ": the cost per pause must be >= 0 g"};
  if (request.power_w <= 0) return Error{what + ": the power must be > 0 W"};
  return Ok{};
}

Result<double> baseline_integral(const PreparedSeries& series, const PlanRequest& request) {
  const double from = request.not_before_unix_s, to = from + request.duration_s;
  if (from < series.start_unix_s() || from >= series.end_unix_s()) {
    return Error{"not-before (" + format_time(from) + ") must lie inside the series, but " +
                 describe_reach(series, from) + ": extend the series or start later"};
  }
  return series.known(from, to) ? series.integral(from, to) : std::numeric_limits<double>::quiet_NaN();
}

Plan finish_plan(const PreparedSeries& series, const PlanRequest& request, std::string strategy,
                 std::vector<Interval> intervals, double baseline) {
  Plan plan;
  plan.strategy = std::move(strategy);
  double integral = 0.0, seconds = 0.0;
  bool forecast =
      series.touches_forecast(request.not_before_unix_s, request.not_before_unix_s + request.duration_s);
  for (const auto& [from, to] : intervals) {
    integral += series.integral(from, to);
    seconds += to - from;
    forecast = forecast || series.touches_forecast(from, to);
  }
  plan.pauses = intervals.empty() ? 0 : static_cast<int>(intervals.size()) - 1;
  plan.intervals = std::move(intervals);
  plan.expected_intensity_g_per_kwh = seconds > 0 ? integral / seconds : 0.0;
  plan.expected_emissions_g = grams(integral, request.power_w) + plan.pauses * request.pause_cost_g;
  plan.baseline_intensity_g_per_kwh = baseline / request.duration_s;  // NaN stays NaN
  plan.baseline_emissions_g = grams(baseline, request.power_w);
  if (std::isnan(baseline)) {
    plan.savings_pct = std::numeric_limits<double>::quiet_NaN();
  } else {
    plan.savings_pct =
        plan.baseline_emissions_g > 0
            ? 100.0 * (plan.baseline_emissions_g - plan.expected_emissions_g) / plan.baseline_emissions_g
            : 0.0;
  }
  plan.uses_forecast = forecast;
  return plan;
}

}  // namespace carbonmeter::plan_detail
