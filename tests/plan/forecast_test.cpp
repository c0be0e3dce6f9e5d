// The seasonal-profile forecast: weekly with two weeks of history, daily with one day, an error
// below that; the backtest's MAPE; flags, step and determinism.
#include "plan/forecast.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "plan/plan_reference.hpp"

namespace carbonmeter {
namespace {

using namespace plan_test;
using ::testing::HasSubstr;

constexpr double kDay = 24 * kHour;

// Hourly values f(hour index) from kJan1.
template <class F>
StepSeries hourly_from(int hours, F f) {
  StepSeries s;
  for (int h = 0; h <= hours; ++h) s.times_unix_s.push_back(kJan1 + kHour * h);
  for (int h = 0; h < hours; ++h) s.g_per_kwh.push_back(f(h));
  return s;
}

// A value for each hour of the week, the same every week.
double weekly_shape(int h) {
  const int slot = h % 168;
  return 200 + 80 * std::sin(2 * M_PI * slot / 24.0) + 30 * std::cos(2 * M_PI * slot / 168.0) +
         (slot * 37 % 11);
}

double daily_shape(int hour_of_day) { return 300 + 100 * std::sin(2 * M_PI * hour_of_day / 24.0); }

TEST(Forecast, AWeeklyPeriodicSeriesContinuesExactly) {
  const StepSeries history = hourly_from(5 * 168, weekly_shape);
  const double until = history.times_unix_s.back() + 3 * kDay + 1800;
  auto extended = extend_with_forecast(history, until);
  ASSERT_TRUE(extended.ok()) << extended.error().message;
  const ExtendedSeries& out = extended.value();
  ASSERT_TRUE(out.quality.has_value());
  EXPECT_EQ(out.quality->method, "weekly-profile");
  EXPECT_LT(out.quality->backtest_mape, 1e-12);
  EXPECT_DOUBLE_EQ(out.quality->backtest_days, 7.0);
  const std::size_t n = history.g_per_kwh.size();
  ASSERT_EQ(out.series.g_per_kwh.size(), n + 73);  // 72.5 h in whole hours
  ASSERT_EQ(out.series.times_unix_s.size(), n + 74);
  ASSERT_EQ(out.series.forecast.size(), n + 73);
  EXPECT_GE(out.series.times_unix_s.back(), until);
  for (std::size_t i = 0; i < out.series.g_per_kwh.size(); ++i) {
    EXPECT_EQ(out.series.times_unix_s[i], kJan1 + kHour * static_cast<double>(i));
    EXPECT_EQ(out.series.forecast[i], i >= n);
    EXPECT_NEAR(out.series.g_per_kwh[i], weekly_shape(static_cast<int>(i)), 1e-9) << i;
  }
  // Two weeks are enough for the weekly profile.
  auto two_weeks = extend_with_forecast(hourly_from(14 * 24, weekly_shape), kJan1 + 15 * kDay);
  ASSERT_TRUE(two_weeks.ok());
  EXPECT_EQ(two_weeks.value().quality->method, "weekly-profile");
  EXPECT_LT(two_weeks.value().quality->backtest_mape, 1e-12);
  EXPECT_DOUBLE_EQ(two_weeks.value().quality->backtest_days, 3.5);
}

TEST(Forecast, ThreeDaysUseTheDailyProfile) {
  // Day d is the daily shape plus 10·d: the forecast is the mean of the 3 days, shape + 10.
  const auto f = [](int h) { return daily_shape(h % 24) + 10.0 * (h / 24); };
  const StepSeries history = hourly_from(72, f);
  auto extended = extend_with_forecast(history, kJan1 + 4 * kDay);
  ASSERT_TRUE(extended.ok()) << extended.error().message;
  const ExtendedSeries& out = extended.value();
  EXPECT_EQ(out.quality->method, "daily-profile");
  ASSERT_EQ(out.series.g_per_kwh.size(), 96u);
  for (int h = 72; h < 96; ++h) EXPECT_NEAR(out.series.g_per_kwh[h], daily_shape(h % 24) + 10, 1e-9) << h;
  // Backtest: the last 18 h (25 % of 3 days), hours 54-71 of day 2, from days 0 and 1: shape + 5
  // against shape + 20.
  EXPECT_DOUBLE_EQ(out.quality->backtest_days, 0.75);
  double sum = 0.0;
  for (int h = 54; h < 72; ++h) sum += 15.0 / (daily_shape(h % 24) + 20);
  EXPECT_NEAR(out.quality->backtest_mape, sum / 18, 1e-12);
}

TEST(Forecast, LessThanADayOfKnownHistoryIsAnError) {
  auto short_history = extend_with_forecast(hourly_from(23, daily_shape), kJan1 + 2 * kDay);
  ASSERT_FALSE(short_history.ok());
  EXPECT_THAT(short_history.error().message, HasSubstr("at least one day"));
  EXPECT_THAT(short_history.error().message, HasSubstr("known values reach only until 2026-01-01T23:00:00Z"));
  // 30 hours, but only 20 of them known.
  auto sparse =
      extend_with_forecast(hourly_from(30, [](int h) { return h < 20 ? 100.0 : kNaN; }), kJan1 + 2 * kDay);
  ASSERT_FALSE(sparse.ok());
  // The message names the end of the known values, not of the empty rows after them.
  EXPECT_THAT(sparse.error().message, HasSubstr("known values reach only until 2026-01-01T20:00:00Z"));
  auto unknown = extend_with_forecast(hourly_from(48, [](int) { return kNaN; }), kJan1 + 3 * kDay);
  EXPECT_FALSE(unknown.ok());
}

// 4e15 s ahead once overflowed the count of periods back to the history (undefined behaviour).
TEST(Forecast, MoreThanAYearAheadIsAnError) {
  const StepSeries history = hourly_from(3 * 24, daily_shape);
  const double end = history.times_unix_s.back();
  EXPECT_TRUE(extend_with_forecast(history, end + 366 * kDay).ok());
  for (double ahead_s : {366 * kDay + 1, 4e15}) {
    auto far = extend_with_forecast(history, end + ahead_s);
    ASSERT_FALSE(far.ok()) << ahead_s;
    EXPECT_THAT(far.error().message, HasSubstr("more than a year past the series' end")) << ahead_s;
  }
}

// An empty last row that reaches far past the known values is forecast with the fallback (the mean
// of the last period) where no history lies a whole number of periods before it.
TEST(Forecast, AFarEmptyRowGetsTheFallback) {
  StepSeries history = hourly_from(3 * 24, [](int h) { return h < 48 ? 100.0 : 300.0; });
  history.g_per_kwh.push_back(kNaN);
  history.times_unix_s.push_back(history.times_unix_s.back() + 1e15);
  auto extended = extend_with_forecast(history, history.times_unix_s[3 * 24] + kHour);
  ASSERT_TRUE(extended.ok()) << extended.error().message;
  EXPECT_TRUE(extended.value().series.forecast.back());
  EXPECT_DOUBLE_EQ(extended.value().series.g_per_kwh.back(), 300.0);
}

TEST(Forecast, UnchangedWhenTheHistoryReachesFarEnough) {
  const StepSeries history = hourly_from(10, daily_shape);
  auto out = extend_with_forecast(history, kJan1 + 10 * kHour);
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(out.value().quality.has_value());
  EXPECT_EQ(out.value().series.times_unix_s, history.times_unix_s);
  EXPECT_EQ(out.value().series.g_per_kwh, history.g_per_kwh);
}

TEST(Forecast, StepsOfTheMedianStepFlaggedAndDeterministic) {
  StepSeries history;
  double t = kJan1;
  for (int i = 0; i < 3 * 96; ++i) {  // 15-minute steps, every 7th one 30 minutes
    history.times_unix_s.push_back(t);
    history.g_per_kwh.push_back(100 + i % 13);
    t += i % 7 == 0 ? 1800 : 900;
  }
  history.times_unix_s.push_back(t);
  auto a = extend_with_forecast(history, t + 5 * kHour);
  auto b = extend_with_forecast(history, t + 5 * kHour);
  ASSERT_TRUE(a.ok() && b.ok());
  const auto& out = a.value().series;
  ASSERT_EQ(out.g_per_kwh.size(), history.g_per_kwh.size() + 20);
  for (std::size_t i = history.g_per_kwh.size(); i < out.g_per_kwh.size(); ++i) {
    EXPECT_DOUBLE_EQ(out.times_unix_s[i + 1] - out.times_unix_s[i], 900.0);
    EXPECT_TRUE(out.forecast[i]);
    EXPECT_TRUE(std::isfinite(out.g_per_kwh[i]));
  }
  EXPECT_EQ(out.g_per_kwh, b.value().series.g_per_kwh);
  EXPECT_EQ(a.value().quality->backtest_mape, b.value().quality->backtest_mape);
}

TEST(Forecast, TrailingEmptyRowsAreForecastToo) {
  // 3 days of the daily shape, then 5 empty hours (as exports often end): the forecast starts
  // after the last known value and fills them, flagged, before it goes on past the end.
  const auto f = [](int h) { return h < 72 ? daily_shape(h % 24) : kNaN; };
  const StepSeries history = hourly_from(77, f);
  auto extended = extend_with_forecast(history, kJan1 + 80 * kHour);
  ASSERT_TRUE(extended.ok()) << extended.error().message;
  const StepSeries& out = extended.value().series;
  ASSERT_EQ(out.g_per_kwh.size(), 80u);
  ASSERT_EQ(out.forecast.size(), 80u);
  for (int h = 0; h < 80; ++h) {
    EXPECT_EQ(out.times_unix_s[h], kJan1 + kHour * h);
    EXPECT_EQ(out.forecast[h], h >= 72) << h;
    EXPECT_NEAR(out.g_per_kwh[h], daily_shape(h % 24), 1e-9) << h;
  }
  EXPECT_EQ(extended.value().quality->method, "daily-profile");
  // Up to a time inside the empty rows: they are filled, nothing is added.
  auto inside = extend_with_forecast(history, kJan1 + 74 * kHour);
  ASSERT_TRUE(inside.ok());
  ASSERT_EQ(inside.value().series.g_per_kwh.size(), 77u);
  EXPECT_TRUE(inside.value().series.forecast[76]);
  EXPECT_FALSE(std::isnan(inside.value().series.g_per_kwh[76]));
  // Up to a time the known values reach: unchanged.
  auto before = extend_with_forecast(history, kJan1 + 72 * kHour);
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(before.value().quality.has_value());
  EXPECT_TRUE(std::isnan(before.value().series.g_per_kwh[72]));
  // A plan from a not-before inside the empty rows: impossible on the rows, fine on the forecast.
  PlanRequest r;
  r.not_before_unix_s = kJan1 + 73 * kHour;
  r.duration_s = 2 * kHour;
  r.window_s = 3 * kHour;
  auto raw = plan_flexible_start(history, r);
  ASSERT_FALSE(raw.ok());
  EXPECT_THAT(raw.error().message, HasSubstr("unknown from 2026-01-04T01:00:00Z to 2026-01-04T05:00:00Z"));
  auto plan = plan_flexible_start(out, r);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_TRUE(plan.value().uses_forecast);
  EXPECT_FALSE(std::isnan(plan.value().savings_pct));
}

TEST(Forecast, UnknownValuesAreLeftOutOfTheMean) {
  // Week w is the weekly shape + 10·w; the slot at hour 4·168 + 5 (week 4) is unknown.
  const auto f = [](int h) { return h == 4 * 168 + 5 ? kNaN : weekly_shape(h) + 10.0 * (h / 168); };
  auto out = extend_with_forecast(hourly_from(5 * 168, f), kJan1 + 5 * 168 * kHour + kDay);
  ASSERT_TRUE(out.ok());
  const auto& v = out.value().series.g_per_kwh;
  EXPECT_NEAR(v[5 * 168 + 5], weekly_shape(5) + 20.0, 1e-9);  // weeks 1-3
  EXPECT_NEAR(v[5 * 168 + 6], weekly_shape(6) + 25.0, 1e-9);  // weeks 1-4
}

TEST(Forecast, PlansOnTheForecastSaySo) {
  const StepSeries history = hourly_from(3 * 168, weekly_shape);
  const double end = history.times_unix_s.back();
  auto extended = extend_with_forecast(history, end + 2 * kDay);
  ASSERT_TRUE(extended.ok());
  PlanRequest r;
  r.not_before_unix_s = end - kDay;
  r.duration_s = 6 * kHour;
  r.window_s = 2 * kDay;
  auto plan = plan_flexible_start(extended.value().series, r);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  auto without = plan_flexible_start(history, r);
  EXPECT_FALSE(without.ok() && without.value().uses_forecast);
  // The weekly shape's cheapest 6 h in the next 2 days may or may not be in the forecast; the flag
  // follows where the plan lies.
  EXPECT_EQ(plan.value().uses_forecast, plan.value().intervals.front().second > end);
}

}  // namespace
}  // namespace carbonmeter
