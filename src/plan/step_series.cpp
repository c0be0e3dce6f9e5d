// The step series as the planner reads it: checks, direct integration, and the prepared form with
// prefix sums that makes queries cheap.
#include <algorithm>
#include <cmath>
#include <string>

#include "plan/plan_detail.hpp"
#include "plan/planner.hpp"

namespace carbonmeter {

namespace plan_detail {

Status check_series(const StepSeries& series) {
  const std::size_t n = series.g_per_kwh.size();
  if (n == 0) return Error{"the intensity series is empty: it needs at least one step"};
  if (series.times_unix_s.size() != n + 1) {
    return Error{"the intensity series needs one more time than values (" +
                 std::to_string(series.times_unix_s.size()) + " times for " + std::to_string(n) + " values)"};
  }
  if (!series.forecast.empty() && series.forecast.size() != n) {
    return Error{"the intensity series has " + std::to_string(series.forecast.size()) +
                 " forecast flags for " + std::to_string(n) + " values (give none or one per value)"};
  }
  for (std::size_t i = 0; i <= n; ++i) {
    const double t = series.times_unix_s[i];
    if (!std::isfinite(t)) return Error{"the intensity series has a time that is not a finite number"};
    if (i > 0 && !(t > series.times_unix_s[i - 1])) {
      return Error{"the intensity series' times must be strictly increasing (" +
                   format_time(series.times_unix_s[i - 1]) + " then " + format_time(t) + ")"};
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    const double v = series.g_per_kwh[i];
    if (std::isinf(v) || v < 0) {
      return Error{"the intensity at " + format_time(series.times_unix_s[i]) + " is " + std::to_string(v) +
                   " g/kWh: it must be a finite number >= 0 (or empty: unknown)"};
    }
  }
  return Ok{};
}

Result<Plan> plan_on_span(const StepSeries& series, const PlanRequest& request,
                          Result<Plan> (*planner)(const PreparedSeries&, const PlanRequest&)) {
  if (auto checked = check_series(series); !checked) return checked.error();
  const auto& t = series.times_unix_s;
  const double from = request.not_before_unix_s;
  const double to = from + request.duration_s + request.window_s;
  if (std::isfinite(to) && from >= t.front() && to <= t.back() && from < to) {
    const auto first = static_cast<std::size_t>(std::upper_bound(t.begin(), t.end(), from) - t.begin()) - 1;
    const auto last = static_cast<std::size_t>(std::lower_bound(t.begin(), t.end(), to) - t.begin()) - 1;
    StepSeries part;
    part.times_unix_s.assign(t.begin() + first, t.begin() + last + 2);
    part.g_per_kwh.assign(series.g_per_kwh.begin() + first, series.g_per_kwh.begin() + last + 1);
    if (!series.forecast.empty()) {
      part.forecast.assign(series.forecast.begin() + first, series.forecast.begin() + last + 1);
    }
    auto prepared = PreparedSeries::prepare(std::move(part));
    if (prepared) {
      auto plan = planner(prepared.value(), request);
      if (plan) return plan;
    }
  }
  auto prepared = PreparedSeries::prepare(series);
  if (!prepared) return prepared.error();
  return planner(prepared.value(), request);
}

}  // namespace plan_detail

std::optional<double> integrate_known(const StepSeries& series, double from, double to) {
  const auto& t = series.times_unix_s;
  if (series.g_per_kwh.empty() || t.size() != series.g_per_kwh.size() + 1) return std::nullopt;
  if (!(from <= to) || from < t.front() || to > t.back()) return std::nullopt;
  std::size_t i = static_cast<std::size_t>(std::upper_bound(t.begin(), t.end(), from) - t.begin());
  i = i == 0 ? 0 : std::min(i - 1, series.g_per_kwh.size() - 1);
  double sum = 0.0;
  for (double at = from; at < to; ++i) {
    const double end = std::min(to, t[i + 1]);
    if (std::isnan(series.g_per_kwh[i])) return std::nullopt;
    sum += series.g_per_kwh[i] * (end - at);
    at = end;
  }
  return sum;
}

Result<PreparedSeries> PreparedSeries::prepare(StepSeries series) {
  if (auto checked = plan_detail::check_series(series); !checked) return checked.error();
  PreparedSeries out;
  const std::size_t n = series.g_per_kwh.size();
  out.rate_.resize(n + 1, 0.0);
  out.cum_hi_.resize(n + 1, 0.0);
  out.cum_lo_.resize(n + 1, 0.0);
  out.unknown_before_.resize(n + 1, 0);
  out.forecast_before_.resize(n + 1, 0);
  double hi = 0.0, lo = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double v = series.g_per_kwh[i];
    const bool unknown = std::isnan(v);
    out.rate_[i] = unknown ? 0.0 : v;
    const double term = out.rate_[i] * (series.times_unix_s[i + 1] - series.times_unix_s[i]);
    // TwoSum: `sum` is the rounded sum, `error` exactly what the rounding lost.
    const double sum = hi + term;
    const double back = sum - hi;
    const double error = (hi - (sum - back)) + (term - back);
    hi = sum;
    lo += error;
    out.cum_hi_[i + 1] = hi;
    out.cum_lo_[i + 1] = lo;
    out.unknown_before_[i + 1] = out.unknown_before_[i] + (unknown ? 1 : 0);
    const bool forecast = !series.forecast.empty() && series.forecast[i];
    out.forecast_before_[i + 1] = out.forecast_before_[i] + (forecast ? 1 : 0);
  }
  out.series_ = std::move(series);
  return out;
}

std::size_t PreparedSeries::step_at(double t) const {
  const auto& times = series_.times_unix_s;
  const auto it = std::upper_bound(times.begin(), times.end(), t);
  const std::size_t after = static_cast<std::size_t>(it - times.begin());
  return after == 0 ? 0 : std::min(after - 1, steps() - 1);
}

namespace {

// The last step that [.., to) overlaps: times[j] < to <= times[j + 1] (to inside the series).
std::size_t last_step_before(const std::vector<double>& times, double to, std::size_t steps) {
  const auto it = std::lower_bound(times.begin(), times.end(), to);
  const std::size_t at = static_cast<std::size_t>(it - times.begin());
  return at == 0 ? 0 : std::min(at - 1, steps - 1);
}

}  // namespace

bool PreparedSeries::known(double from, double to) const {
  if (!(from >= start_unix_s() && to <= end_unix_s() && from <= to)) return false;
  if (from == to) return true;
  return known_steps(step_at(from), last_step_before(series_.times_unix_s, to, steps()));
}

bool PreparedSeries::touches_forecast(double from, double to) const {
  const double a = std::max(from, start_unix_s()), b = std::min(to, end_unix_s());
  if (!(a < b)) return false;
  const std::size_t first = step_at(a), last = last_step_before(series_.times_unix_s, b, steps());
  return forecast_before_[last + 1] != forecast_before_[first];
}

double PreparedSeries::integral(double from, double to) const {
  const std::size_t from_step = step_at(from);
  const std::size_t to_step = to >= end_unix_s() ? steps() : step_at(to);
  return integral_in_steps(from, from_step, to >= end_unix_s() ? end_unix_s() : to, to_step);
}

}  // namespace carbonmeter
