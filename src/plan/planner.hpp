// Carbon-aware planning on an intensity series (Dodge et al., FAccT 2022): Flexible Start (the
// best start of an uninterrupted run) and Pause and Resume (the best set of run intervals).
//
// The series is a step function: value[i] holds over [times[i], times[i + 1]). A NaN value is
// unknown: a plan never runs there. Times are Unix seconds; intensity is g/kWh; a plan's
// emissions assume constant power.
//
// Optimality. Flexible Start, and Pause and Resume without min_run_s and pause_cost_g, are exact in
// continuous time. Pause and Resume with either is exact in continuous time, for any not-before,
// D and maximum delay, whenever the lengths of the steps inside the span and min_run_s have a
// common divisor u in whole milliseconds that keeps its DP small: (span / u) × (D / u) up to about
// 2.5 million, e.g. 5-minute steps with min_run a multiple of 5 minutes, D = 3 days and a maximum
// delay of 4 days. Otherwise its plan is the best of those whose piece ends, all but one, lie on
// a coarser slot grid (src/plan/pause_resume_grid.cpp says exactly which), and never worse than
// the best uninterrupted run in the same span.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "carbonmeter/result.hpp"

namespace carbonmeter {

struct StepSeries {
  std::vector<double> times_unix_s;  // n + 1 boundaries, strictly increasing
  std::vector<double> g_per_kwh;     // n values; NaN: unknown
  std::vector<bool> forecast;        // n flags: the value is a forecast (may be empty: none are)
};

struct PlanRequest {
  double not_before_unix_s = 0.0;
  double duration_s = 0.0;
  // Flexible Start: the start lies in [not_before, not_before + window_s].
  // Pause and Resume: everything runs inside [not_before, not_before + duration_s + window_s].
  double window_s = 0.0;
  double min_run_s = 0.0;     // Pause and Resume: the shortest piece (0: any)
  double pause_cost_g = 0.0;  // Pause and Resume: grams CO2e charged per pause (checkpoint + restart)
  double power_w = 1000.0;    // for the emissions figures
};

using Interval = std::pair<double, double>;  // [start, end), Unix seconds

struct Plan {
  std::string strategy;             // "flexible-start" or "pause-resume"
  std::vector<Interval> intervals;  // sorted, disjoint, adding up to duration_s; one for flexible-start
  double expected_intensity_g_per_kwh = 0.0;  // time-average over the plan
  double expected_emissions_g = 0.0;          // includes pause costs
  // The baseline: starting at not_before, uninterrupted. NaN (unknown) when [not_before,
  // not_before + D] runs over unknown values or past the series' end: the plan is made all the same.
  double baseline_intensity_g_per_kwh = 0.0;
  double baseline_emissions_g = 0.0;
  double savings_pct = 0.0;  // 100 × (baseline − expected) / baseline; NaN with the baseline
  int pauses = 0;
  bool uses_forecast = false;  // some chosen or baseline time lies on forecast values
};

// A plan runs only on known values inside the series and the span (Flexible Start: starts in
// [not_before, not_before + window]; Pause and Resume: [not_before, not_before + D + window]). The
// result is an error when not_before lies outside the series, or when no plan of D fits on the
// known values there (the message says how far they reach, and where a forecast begins).
Result<Plan> plan_flexible_start(const StepSeries& series, const PlanRequest& request);
Result<Plan> plan_pause_resume(const StepSeries& series, const PlanRequest& request);

// ∫ intensity dt over [from, to] in g/kWh·s, or nullopt when any part is unknown or outside.
std::optional<double> integrate_known(const StepSeries& series, double from, double to);

// A series checked once and prepared for many queries: prefix sums of the intensity (compensated,
// so that a difference is accurate to a few ulps of itself), of unknown steps and of forecast
// steps. A query on it then costs O(log n + the steps it looks at) instead of O(n).
class PreparedSeries {
 public:
  // Errors: sizes that do not match, times not finite or not strictly increasing, values that are
  // infinite or negative (NaN is fine: unknown).
  static Result<PreparedSeries> prepare(StepSeries series);

  const StepSeries& series() const { return series_; }
  std::size_t steps() const { return series_.g_per_kwh.size(); }
  double start_unix_s() const { return series_.times_unix_s.front(); }
  double end_unix_s() const { return series_.times_unix_s.back(); }
  const std::vector<double>& times_unix_s() const { return series_.times_unix_s; }

  // The step holding t: times[i] <= t < times[i + 1], clamped to [0, steps() - 1].
  std::size_t step_at(double t_unix_s) const;
  // [from, to) lies inside the series and overlaps no unknown step (an empty span: inside).
  bool known(double from_unix_s, double to_unix_s) const;
  // Some of [from, to) lies on a step flagged forecast.
  bool touches_forecast(double from_unix_s, double to_unix_s) const;
  // ∫ intensity dt over [from, to] in g/kWh·s with unknown steps counting 0; from <= to, both
  // inside the series (check known() first).
  double integral(double from_unix_s, double to_unix_s) const;

  // The same for the planner's sweeps, with the steps given: from_step holds `from` (times[from_step]
  // <= from), to_step is any index <= steps() with times[to_step] <= to (steps(): to is the end).
  double integral_in_steps(double from_unix_s, std::size_t from_step, double to_unix_s,
                           std::size_t to_step) const {
    return (cum_hi_[to_step] - cum_hi_[from_step]) + (cum_lo_[to_step] - cum_lo_[from_step]) +
           rate_[to_step] * (to_unix_s - series_.times_unix_s[to_step]) -
           rate_[from_step] * (from_unix_s - series_.times_unix_s[from_step]);
  }
  // Steps first..last (inclusive) are all known.
  bool known_steps(std::size_t first, std::size_t last) const {
    return unknown_before_[last + 1] == unknown_before_[first];
  }

 private:
  StepSeries series_;
  std::vector<double> rate_;                    // n + 1: g/kWh, unknown and the end as 0
  std::vector<double> cum_hi_;                  // n + 1: ∫ from the start to times[i], rounded ...
  std::vector<double> cum_lo_;                  // ... and the rounding errors (cum_hi_ + cum_lo_ is the sum)
  std::vector<std::uint32_t> unknown_before_;   // n + 1: unknown steps before i
  std::vector<std::uint32_t> forecast_before_;  // n + 1: forecast steps before i
};

// The same plans on a prepared series (for many queries on one series).
Result<Plan> plan_flexible_start(const PreparedSeries& series, const PlanRequest& request);
Result<Plan> plan_pause_resume(const PreparedSeries& series, const PlanRequest& request);

}  // namespace carbonmeter
