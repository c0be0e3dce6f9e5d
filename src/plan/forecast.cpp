// A seasonal-profile forecast from a series' own history, and its backtest.
//
// History: from the start of the first known step to the end of the last known one; empty rows
// after that are forecast like the time after the series' end (and flagged so). With at least
// 14 days, each forecast step [τ, τ + h) gets the mean of the known values at τ + h/2 - w·week for
// the 4 most recent w >= 1 whose time lies before the end of the data used (a weekly profile);
// with at least one day, the same with days and the 7 most recent w (a daily profile). When none
// of those is known, older ones are looked at, and when the history has none at all, the
// time-weighted mean of its last period. h is the history's median step.
//
// The backtest forecasts the last min(7 days, 25 % of the history) before the end of the last
// known value from the data before it, with the same profile, and reports the mean absolute
// percentage error over the known, non-zero actual steps that start inside it (NaN when there are
// none). Everything is deterministic.
#include "plan/forecast.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "plan/plan_detail.hpp"

namespace carbonmeter {

namespace {

constexpr double kDay = 86400.0;
constexpr double kWeek = 7 * kDay;
constexpr double kMaxForecastAhead_s = 366 * kDay;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Profile {
  const char* method;
  double period_s;
  int lags;
};

// The known value of the step holding x, or NaN.
double value_at(const PreparedSeries& history, double x) {
  if (x < history.start_unix_s() || x >= history.end_unix_s()) return kNaN;
  return history.series().g_per_kwh[history.step_at(x)];
}

// The time-weighted mean of the known values in [from, to), or NaN.
double known_mean(const StepSeries& series, double from, double to) {
  double sum = 0.0, seconds = 0.0;
  for (std::size_t i = 0; i < series.g_per_kwh.size(); ++i) {
    const double a = std::max(from, series.times_unix_s[i]), b = std::min(to, series.times_unix_s[i + 1]);
    if (b > a && !std::isnan(series.g_per_kwh[i])) {
      sum += series.g_per_kwh[i] * (b - a);
      seconds += b - a;
    }
  }
  return seconds > 0 ? sum / seconds : kNaN;
}

// The profile's value at x from the data before `cut`.
double predict(const PreparedSeries& history, const Profile& profile, double cut, double x, double fallback) {
  const double periods_back = std::max(1.0, std::floor((x - cut) / profile.period_s) + 1);
  // Before the history's start (a forecast row far past a long gap): nothing to average.
  if (!(periods_back < 1e9) || x - periods_back * profile.period_s < history.start_unix_s()) return fallback;
  const int first = static_cast<int>(periods_back);
  double sum = 0.0;
  int count = 0;
  for (int w = first;; ++w) {
    const double at = x - w * profile.period_s;
    if (at < history.start_unix_s()) break;
    if (w >= first + profile.lags && count > 0) break;
    if (at >= cut) continue;  // rounding at the edge: only data before the cut
    if (const double v = value_at(history, at); !std::isnan(v)) sum += v, ++count;
  }
  return count > 0 ? sum / count : fallback;
}

}  // namespace

Result<ExtendedSeries> extend_with_forecast(const StepSeries& history, double until_unix_s) {
  using plan_detail::format_duration;
  using plan_detail::format_time;
  auto prepared = PreparedSeries::prepare(history);
  if (!prepared) return prepared.error();
  if (!std::isfinite(until_unix_s)) return Error{"forecast: the time to forecast until must be finite"};
  const PreparedSeries& series = prepared.value();
  ExtendedSeries out;
  out.series = history;
  const double end = series.end_unix_s();

  const auto& values = history.g_per_kwh;
  const auto& times = history.times_unix_s;
  std::size_t first_known = values.size(), last_known = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (std::isnan(values[i])) continue;
    first_known = std::min(first_known, i);
    last_known = i;
  }
  const bool any_known = first_known < values.size();
  // The data ends with the last known value: trailing empty rows are forecast too.
  const double last_end = any_known ? times[last_known + 1] : times.front();
  if (last_end >= until_unix_s) return out;
  const double known_s = any_known ? last_end - times[first_known] : 0.0;
  if (known_s < kDay) {
    return Error{"forecast: the series' known values reach only until " + format_time(last_end) +
                 ", before " + format_time(until_unix_s) +
                 ", and a forecast needs at least one day of known history (it has " +
                 format_duration(known_s) + "): give a longer series"};
  }
  const Profile profile =
      known_s >= 14 * kDay ? Profile{"weekly-profile", kWeek, 4} : Profile{"daily-profile", kDay, 7};

  std::vector<double> lengths(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) lengths[i] = times[i + 1] - times[i];
  std::nth_element(lengths.begin(), lengths.begin() + lengths.size() / 2, lengths.end());
  const double step = lengths[lengths.size() / 2];
  if (until_unix_s - end > kMaxForecastAhead_s) {
    return Error{
        "forecast: " + format_time(until_unix_s) + " is more than a year past the series' end (" +
        format_time(end) +
        "): a seasonal forecast says nothing that far ahead; give a series that reaches closer, or a "
        "shorter --window"};
  }
  if ((until_unix_s - end) / step > 1e7) {
    return Error{"forecast: " + format_time(until_unix_s) + " is more than ten million steps of " +
                 format_duration(step) + " past the series' end (" + format_time(end) + ")"};
  }

  // The forecast steps: the empty rows after the last known value, then steps of `step` from the
  // series' end.
  const double fallback = known_mean(history, last_end - profile.period_s, last_end);
  out.series.forecast.resize(values.size(), false);
  for (std::size_t i = last_known + 1; i < values.size(); ++i) {
    out.series.g_per_kwh[i] = predict(series, profile, last_end, (times[i] + times[i + 1]) / 2, fallback);
    out.series.forecast[i] = true;
  }
  for (std::size_t k = 0;; ++k) {
    const double from = end + static_cast<double>(k) * step;
    if (from >= until_unix_s) break;
    out.series.g_per_kwh.push_back(predict(series, profile, last_end, from + step / 2, fallback));
    out.series.times_unix_s.push_back(end + static_cast<double>(k + 1) * step);
    out.series.forecast.push_back(true);
  }

  // The backtest.
  const double horizon = std::min(7 * kDay, 0.25 * known_s);
  const double cut = last_end - horizon;
  const double cut_fallback = known_mean(history, cut - profile.period_s, cut);
  double error_sum = 0.0;
  int compared = 0;
  for (std::size_t i = first_known; i <= last_known; ++i) {
    if (times[i] < cut || std::isnan(values[i]) || values[i] == 0.0) continue;
    const double predicted = predict(series, profile, cut, (times[i] + times[i + 1]) / 2, cut_fallback);
    if (std::isnan(predicted)) continue;
    error_sum += std::abs(predicted - values[i]) / std::abs(values[i]);
    ++compared;
  }
  out.quality = ForecastQuality{profile.method, compared > 0 ? error_sum / compared : kNaN, horizon / kDay};
  return out;
}

}  // namespace carbonmeter
