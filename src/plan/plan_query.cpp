#include "plan/plan_query.hpp"

#include <fmt/format.h>

#include <cmath>

#include "core/run_report.hpp"

namespace carbonmeter {
namespace {

std::string when(double unix_s) { return format_iso8601_utc(unix_s); }

// A figure, or null when it is unknown (NaN: the baseline ran over unknown values).
nlohmann::json number(double value) {
  return std::isnan(value) ? nlohmann::json(nullptr) : nlohmann::json(value);
}

}  // namespace

Result<PlanOutcome> make_plan(const IntensitySeries& series, const std::string& strategy,
                              const PlanRequest& request) {
  if (strategy != "flexible-start" && strategy != "pause-resume")
    return Error{"strategy '" + strategy + "': use flexible-start or pause-resume"};
  if (!std::isfinite(request.pause_cost_g) || request.pause_cost_g < 0)
    return Error{fmt::format("pause cost {} g: give grams CO2e, 0 or more", request.pause_cost_g)};
  if (!std::isfinite(request.power_w) || request.power_w <= 0)
    return Error{fmt::format("power {} W: give the job's average power in W, more than 0", request.power_w)};
  if (!std::isfinite(request.not_before_unix_s)) return Error{"not-before: not a time"};
  PlanOutcome out;
  out.request = request;
  // Where the data ends: the end of the last known value (empty rows after it are forecast).
  const StepSeries steps = series.step_series();
  out.series_end_unix_s = steps.times_unix_s.front();
  for (std::size_t i = steps.g_per_kwh.size(); i-- > 0;) {
    if (!std::isnan(steps.g_per_kwh[i])) {
      out.series_end_unix_s = steps.times_unix_s[i + 1];
      break;
    }
  }
  if (request.not_before_unix_s < series.start_unix_s())
    return Error{fmt::format("the series {} starts at {}, after not-before {}: plan from a time it covers",
                             series.name(), when(series.start_unix_s()), when(request.not_before_unix_s))};
  const double horizon = request.not_before_unix_s + request.duration_s + request.window_s;
  auto extended = extend_with_forecast(steps, horizon);
  if (!extended) return Error{series.name() + ": " + extended.error().message};
  out.forecast = extended.value().quality;
  auto plan = strategy == "pause-resume" ? plan_pause_resume(extended.value().series, request)
                                         : plan_flexible_start(extended.value().series, request);
  if (!plan) return plan.error();
  out.plan = plan.value();
  return out;
}

nlohmann::json plan_json(const PlanOutcome& o) {
  const Plan& p = o.plan;
  nlohmann::json intervals = nlohmann::json::array();
  for (const Interval& i : p.intervals) intervals.push_back({when(i.first), when(i.second)});
  nlohmann::json out = {{"strategy", p.strategy},
                        {"start", p.intervals.empty() ? "" : when(p.intervals.front().first)},
                        {"end", p.intervals.empty() ? "" : when(p.intervals.back().second)},
                        {"intervals", intervals},
                        {"pauses", p.pauses},
                        {"duration_s", o.request.duration_s},
                        {"not_before", when(o.request.not_before_unix_s)},
                        {"window_s", o.request.window_s},
                        {"power_w", o.request.power_w},
                        {"expected_intensity_g_per_kwh", p.expected_intensity_g_per_kwh},
                        {"expected_emissions_g", p.expected_emissions_g},
                        {"baseline_start", when(o.request.not_before_unix_s)},
                        {"baseline_intensity_g_per_kwh", number(p.baseline_intensity_g_per_kwh)},
                        {"baseline_emissions_g", number(p.baseline_emissions_g)},
                        {"savings_pct", number(p.savings_pct)},
                        {"forecast", p.uses_forecast},
                        {"series_end", when(o.series_end_unix_s)}};
  if (o.forecast)
    out["forecast_quality"] = {{"method", o.forecast->method},
                               {"backtest_mape", o.forecast->backtest_mape},
                               {"backtest_days", o.forecast->backtest_days}};
  return out;
}

}  // namespace carbonmeter
