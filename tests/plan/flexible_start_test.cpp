// Flexible Start against a brute force (every boundary candidate and a fine grid of starts, each
// integrated directly), on random series (regular, 5-minute, irregular, with unknown values) and
// on hand-made edge cases.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "plan/plan_reference.hpp"

namespace carbonmeter {
namespace {

using namespace plan_test;
using ::testing::HasSubstr;

PlanRequest request(double not_before, double duration, double window) {
  PlanRequest r;
  r.not_before_unix_s = not_before;
  r.duration_s = duration;
  r.window_s = window;
  r.power_w = 250.0;
  return r;
}

// Checks one query against the brute force; returns false when the baseline is not known (skipped).
bool check_against_brute_force(const StepSeries& s, const PlanRequest& r) {
  if (!direct_integral(s, r.not_before_unix_s, r.not_before_unix_s + r.duration_s)) {
    // The baseline is unknown: a plan all the same when some start in the window has a known run.
    const BruteRun brute =
        brute_flexible_start(s, r.not_before_unix_s, r.not_before_unix_s + r.window_s, r.duration_s);
    auto plan = plan_flexible_start(s, r);
    const bool inside =
        r.not_before_unix_s >= s.times_unix_s.front() && r.not_before_unix_s < s.times_unix_s.back();
    EXPECT_EQ(plan.ok(), brute.found && inside);
    if (!plan.ok() || !brute.found) return false;
    EXPECT_TRUE(std::isnan(plan.value().savings_pct));
    EXPECT_TRUE(near_rel(plan.value().expected_emissions_g, grams(brute.integral, r.power_w)));
    EXPECT_NEAR(plan.value().intervals.front().first, brute.start, 1e-6);
    return false;
  }
  auto plan = plan_flexible_start(s, r);
  EXPECT_TRUE(plan.ok()) << plan.error().message;
  if (!plan.ok()) return false;
  const Plan& p = plan.value();
  EXPECT_EQ(p.strategy, "flexible-start");
  EXPECT_EQ(p.intervals.size(), 1u);
  EXPECT_EQ(p.pauses, 0);
  const double start = p.intervals.front().first;
  EXPECT_GE(start, r.not_before_unix_s);
  EXPECT_LE(start, r.not_before_unix_s + r.window_s + 1e-6);
  expect_well_formed(s, r, p, r.not_before_unix_s, r.not_before_unix_s + r.window_s + r.duration_s);
  const BruteRun brute =
      brute_flexible_start(s, r.not_before_unix_s, r.not_before_unix_s + r.window_s, r.duration_s);
  EXPECT_TRUE(brute.found);
  const double brute_g = grams(brute.integral, r.power_w);
  EXPECT_TRUE(near_rel(p.expected_emissions_g, brute_g))
      << "planner " << p.expected_emissions_g << " g, brute force " << brute_g << " g";
  EXPECT_LE(p.expected_emissions_g, brute_g * (1 + 1e-9) + 1e-12) << "the brute force found a better start";
  EXPECT_NEAR(start, brute.start, 1e-6) << "not the earliest of the best starts";
  EXPECT_LE(p.expected_emissions_g, p.baseline_emissions_g * (1 + 1e-12));
  return true;
}

void random_queries(const StepSeries& s, unsigned seed, int queries, double max_duration, double max_window) {
  std::mt19937_64 rng(seed);
  const double t0 = s.times_unix_s.front(), tn = s.times_unix_s.back();
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  int checked = 0;
  for (int q = 0; q < queries; ++q) {
    const double duration = std::max(1.0, std::round(unit(rng) * max_duration));
    const double window = unit(rng) < 0.1 ? 0.0 : std::round(unit(rng) * max_window);
    // Some not-befores on a boundary, others anywhere.
    double not_before = t0 + std::round(unit(rng) * std::max(0.0, tn - t0 - duration));
    if (unit(rng) < 0.3)
      not_before = s.times_unix_s[static_cast<std::size_t>(unit(rng) * (s.g_per_kwh.size() - 1))];
    if (check_against_brute_force(s, request(not_before, duration, window))) ++checked;
  }
  EXPECT_GT(checked, queries / 3);
}

TEST(PlanFlexibleStart, RandomHourlySeriesMatchBruteForce) {
  for (unsigned seed = 1; seed <= 12; ++seed) {
    SeriesShape shape;
    shape.steps = 72;
    random_queries(random_series(seed, shape), seed * 7, 25, 20 * kHour, 40 * kHour);
  }
}

TEST(PlanFlexibleStart, RandomFiveMinuteSeriesMatchBruteForce) {
  for (unsigned seed = 1; seed <= 6; ++seed) {
    SeriesShape shape;
    shape.steps = 600;
    shape.step_choices_s = {300};
    shape.flat_probability = 0.2;
    random_queries(random_series(seed + 100, shape), seed, 15, 6 * kHour, 24 * kHour);
  }
}

TEST(PlanFlexibleStart, RandomIrregularSeriesWithUnknownValuesMatchBruteForce) {
  for (unsigned seed = 1; seed <= 12; ++seed) {
    SeriesShape shape;
    shape.steps = 80;
    shape.step_choices_s = {300, 900, 1234.5, 3600, 5400};
    shape.unknown_probability = 0.08;
    random_queries(random_series(seed + 200, shape), seed + 50, 30, 8 * kHour, 30 * kHour);
  }
}

TEST(PlanFlexibleStart, HandExample) {
  // 300 100 100 300 50 50 50 400: a 2 h run is cheapest at 04:00 (100 g/kWh·h); with a 3-hour
  // window from 00:00 it is 01:00.
  const StepSeries s = hourly({300, 100, 100, 300, 50, 50, 50, 400});
  auto plan = plan_flexible_start(s, request(kJan1, 2 * kHour, 3 * kHour));
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan.value().intervals.front(), Interval(kJan1 + kHour, kJan1 + 3 * kHour));
  EXPECT_NEAR(plan.value().expected_intensity_g_per_kwh, 100.0, 1e-12);
  EXPECT_NEAR(plan.value().baseline_intensity_g_per_kwh, 200.0, 1e-12);
  EXPECT_NEAR(plan.value().savings_pct, 50.0, 1e-9);
  EXPECT_NEAR(plan.value().expected_emissions_g, 0.25 * 100 * 2, 1e-9);  // 250 W, 2 h, 100 g/kWh
  EXPECT_FALSE(plan.value().uses_forecast);
  auto wide = plan_flexible_start(s, request(kJan1, 2 * kHour, 6 * kHour));
  ASSERT_TRUE(wide.ok());
  EXPECT_EQ(wide.value().intervals.front(), Interval(kJan1 + 4 * kHour, kJan1 + 6 * kHour));
}

TEST(PlanFlexibleStart, DurationNotAWholeNumberOfSteps) {
  // 2.5 h over 300 100 100 300 50 50 50 400: starting at 04:00 costs 50·2.5 = 125; best is 04:00
  // (ending 06:30); a start at 03:30 costs 0.5·300 + 2·50 = 250.
  const StepSeries s = hourly({300, 100, 100, 300, 50, 50, 50, 400});
  auto plan = plan_flexible_start(s, request(kJan1, 2.5 * kHour, 5.5 * kHour));
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan.value().intervals.front(), Interval(kJan1 + 4 * kHour, kJan1 + 6.5 * kHour));
  EXPECT_NEAR(plan.value().expected_intensity_g_per_kwh, 50.0, 1e-12);
  // Starts in [0, 1 h]: from 0 it costs 300 + 100 + 50 = 450 (g/kWh·h); from 0.5 h to 1 h the run
  // trades 300 at its start for 300 at its end, so all cost 350: the earliest, 0.5 h (its end hits
  // the boundary at 03:00), wins.
  auto narrow = plan_flexible_start(s, request(kJan1, 2.5 * kHour, 1.0 * kHour));
  ASSERT_TRUE(narrow.ok());
  EXPECT_EQ(narrow.value().intervals.front(), Interval(kJan1 + 0.5 * kHour, kJan1 + 3 * kHour));
  EXPECT_NEAR(narrow.value().expected_intensity_g_per_kwh, 350.0 / 2.5, 1e-12);
}

TEST(PlanFlexibleStart, DurationLongerThanTheWindowAndEqualToIt) {
  const StepSeries s = hourly({300, 100, 100, 300, 50, 50, 50, 400, 20, 20, 500, 500});
  for (double window : {1.0 * kHour, 4.0 * kHour, 2.5 * kHour}) {
    const PlanRequest r = request(kJan1 + 1800, 4 * kHour, window);
    ASSERT_TRUE(check_against_brute_force(s, r));
  }
  const PlanRequest equal = request(kJan1, 4 * kHour, 4 * kHour);
  ASSERT_TRUE(check_against_brute_force(s, equal));
  auto plan = plan_flexible_start(s, equal);
  // From 03:00: 300 + 3·50 = 450, the least (from 02:00: 500, from 04:00: 550).
  EXPECT_EQ(plan.value().intervals.front(), Interval(kJan1 + 3 * kHour, kJan1 + 7 * kHour));
}

TEST(PlanFlexibleStart, FlatSeriesStartsAtNotBeforeWithNoSaving) {
  StepSeries s = hourly(std::vector<double>(24 * 30, 123.456));
  for (double not_before : {kJan1, kJan1 + 1234.5, kJan1 + 5 * kHour}) {
    auto plan = plan_flexible_start(s, request(not_before, 7.3 * kHour, 20 * 24 * kHour));
    ASSERT_TRUE(plan.ok());
    EXPECT_EQ(plan.value().intervals.front().first, not_before);
    EXPECT_EQ(plan.value().savings_pct, 0.0);
  }
  // A year of 5-minute steps: rounding in the prefix sums must not move the start either.
  StepSeries year;
  for (int i = 0; i <= 105120; ++i) year.times_unix_s.push_back(kJan1 + 300.0 * i);
  year.g_per_kwh.assign(105120, 387.1);
  auto plan = plan_flexible_start(year, request(kJan1 + 600, 8 * kHour, 300 * 24 * kHour));
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan.value().intervals.front().first, kJan1 + 600);
  EXPECT_EQ(plan.value().savings_pct, 0.0);
}

TEST(PlanFlexibleStart, NeverRunsOverUnknownValues) {
  // Cheap values around a gap: the run must fit between the gaps.
  const StepSeries s = hourly({400, 10, kNaN, 10, 10, 400, 10, 10, 10, kNaN, 5, 400});
  auto plan = plan_flexible_start(s, request(kJan1, 2 * kHour, 9 * kHour));
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan.value().intervals.front(), Interval(kJan1 + 3 * kHour, kJan1 + 5 * kHour));
  auto three = plan_flexible_start(s, request(kJan1 + 3 * kHour, 3 * kHour, 9 * kHour));
  ASSERT_TRUE(three.ok());
  EXPECT_EQ(three.value().intervals.front(), Interval(kJan1 + 6 * kHour, kJan1 + 9 * kHour));
  ASSERT_TRUE(check_against_brute_force(s, request(kJan1, 1.5 * kHour, 10 * kHour)));
}

TEST(PlanFlexibleStart, StartsWhoseRunPassesTheSeriesEndAreNotAllowed) {
  const StepSeries s = hourly({300, 300, 300, 10, 10});
  auto plan = plan_flexible_start(s, request(kJan1, 3 * kHour, 48 * kHour));
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan.value().intervals.front(), Interval(kJan1 + 2 * kHour, kJan1 + 5 * kHour));
}

TEST(PlanFlexibleStart, ClearErrors) {
  const StepSeries s = hourly({300, 100, kNaN, 100, 200});
  const auto message = [&](PlanRequest r) {
    auto plan = plan_flexible_start(s, r);
    EXPECT_FALSE(plan.ok());
    return plan.ok() ? std::string() : plan.error().message;
  };
  EXPECT_THAT(message(request(kJan1, 0, kHour)), HasSubstr("duration must be > 0"));
  EXPECT_THAT(message(request(kJan1, -5, kHour)), HasSubstr("duration must be > 0"));
  EXPECT_THAT(message(request(kJan1, kHour, -1)), HasSubstr("window must be >= 0"));
  EXPECT_THAT(message(request(kJan1, kNaN, kHour)), HasSubstr("finite"));
  EXPECT_THAT(message(request(kJan1, std::numeric_limits<double>::infinity(), kHour)), HasSubstr("finite"));
  PlanRequest no_power = request(kJan1, kHour, kHour);
  no_power.power_w = 0;
  EXPECT_THAT(message(no_power), HasSubstr("power"));
  // The baseline runs into the gap at 02:00.
  EXPECT_THAT(message(request(kJan1, 3 * kHour, kHour)), HasSubstr("reach only until 2026-01-01T02:00:00Z"));
  // Every start inside the gap, before the series, after it.
  EXPECT_THAT(message(request(kJan1 + 2 * kHour, kHour, 0.5 * kHour)),
              HasSubstr("unknown from 2026-01-01T02:00:00Z"));
  EXPECT_THAT(message(request(kJan1 - kHour, kHour, kHour)), HasSubstr("starts after"));
  EXPECT_THAT(message(request(kJan1 + 4 * kHour, 2 * kHour, kHour)),
              HasSubstr("reach only until 2026-01-01T05:00:00Z"));
  // A broken series.
  StepSeries broken = s;
  broken.times_unix_s.pop_back();
  EXPECT_THAT(plan_flexible_start(broken, request(kJan1, kHour, kHour)).error().message,
              HasSubstr("one more time"));
  StepSeries negative = hourly({100, -1});
  EXPECT_THAT(plan_flexible_start(negative, request(kJan1, kHour, kHour)).error().message, HasSubstr(">= 0"));
  StepSeries unordered = hourly({100, 100});
  unordered.times_unix_s[1] = unordered.times_unix_s[0];
  EXPECT_THAT(plan_flexible_start(unordered, request(kJan1, kHour, kHour)).error().message,
              HasSubstr("strictly increasing"));
  EXPECT_THAT(plan_flexible_start(StepSeries{}, request(kJan1, kHour, kHour)).error().message,
              HasSubstr("empty"));
}

TEST(PlanFlexibleStart, AnUnknownBaselineGivesUnknownFiguresNotAnError) {
  const StepSeries s = hourly({300, 100, kNaN, 100, 200});
  // Not-before inside the gap: the run starts when the values are known again.
  auto inside = plan_flexible_start(s, request(kJan1 + 2 * kHour, kHour, kHour));
  ASSERT_TRUE(inside.ok()) << inside.error().message;
  EXPECT_EQ(inside.value().intervals.front(), Interval(kJan1 + 3 * kHour, kJan1 + 4 * kHour));
  EXPECT_TRUE(std::isnan(inside.value().baseline_emissions_g));
  EXPECT_TRUE(std::isnan(inside.value().baseline_intensity_g_per_kwh));
  EXPECT_TRUE(std::isnan(inside.value().savings_pct));
  EXPECT_NEAR(inside.value().expected_emissions_g, 0.25 * 100, 1e-12);
  // A baseline that runs into the gap.
  auto into = plan_flexible_start(s, request(kJan1 + 1.5 * kHour, kHour, 2 * kHour));
  ASSERT_TRUE(into.ok()) << into.error().message;
  EXPECT_EQ(into.value().intervals.front(), Interval(kJan1 + 3 * kHour, kJan1 + 4 * kHour));
  EXPECT_TRUE(std::isnan(into.value().savings_pct));
  expect_well_formed(s, request(kJan1 + 1.5 * kHour, kHour, 2 * kHour), into.value(), kJan1,
                     kJan1 + 5 * kHour);
}

TEST(PlanFlexibleStart, AWindowOfZeroStartsAtNotBefore) {
  const StepSeries s = hourly({300, 10, 500, 10, 200});
  for (double not_before : {kJan1, kJan1 + 1234.0}) {
    for (double d : {kHour, 3.5 * kHour, 5 * kHour - (not_before - kJan1)}) {
      const PlanRequest r = request(not_before, d, 0.0);
      auto plan = plan_flexible_start(s, r);
      ASSERT_TRUE(plan.ok()) << plan.error().message;
      EXPECT_EQ(plan.value().intervals.front(), Interval(not_before, not_before + d));
      EXPECT_NEAR(plan.value().savings_pct, 0.0, 1e-9);
      ASSERT_TRUE(check_against_brute_force(s, r));
    }
  }
}

TEST(PlanFlexibleStart, UsesForecastWhenThePlanOrTheBaselineTouchesIt) {
  StepSeries s = hourly({300, 300, 300, 300, 10, 10});
  s.forecast = {false, false, false, false, true, true};
  auto into = plan_flexible_start(s, request(kJan1, 2 * kHour, 4 * kHour));
  ASSERT_TRUE(into.ok());
  EXPECT_TRUE(into.value().uses_forecast);
  auto before = plan_flexible_start(s, request(kJan1, 2 * kHour, 1 * kHour));
  EXPECT_FALSE(before.value().uses_forecast);
  s.forecast = {true, false, false, false, false, false};
  auto baseline = plan_flexible_start(s, request(kJan1, 2 * kHour, 4 * kHour));
  EXPECT_TRUE(baseline.value().uses_forecast);
}

TEST(PlanFlexibleStart, PreparedSeriesGivesTheSameAnswers) {
  SeriesShape shape;
  shape.steps = 200;
  shape.step_choices_s = {300, 600};
  const StepSeries s = random_series(42, shape);
  auto prepared = PreparedSeries::prepare(s);
  ASSERT_TRUE(prepared.ok());
  for (int q = 0; q < 20; ++q) {
    const PlanRequest r = request(kJan1 + 997.0 * q, 2 * kHour + 17 * q, 5 * kHour);
    auto a = plan_flexible_start(s, r), b = plan_flexible_start(prepared.value(), r);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a.value().intervals, b.value().intervals);
    EXPECT_EQ(a.value().expected_emissions_g, b.value().expected_emissions_g);
  }
}

TEST(PlanIntegrate, KnownOnlyAndInside) {
  const StepSeries s = hourly({100, 200, kNaN, 400});
  EXPECT_DOUBLE_EQ(*integrate_known(s, kJan1 + 1800, kJan1 + 5400), 100 * 1800 + 200 * 1800);
  EXPECT_DOUBLE_EQ(*integrate_known(s, kJan1, kJan1 + 2 * kHour), 300 * kHour);
  EXPECT_DOUBLE_EQ(*integrate_known(s, kJan1 + 3 * kHour, kJan1 + 4 * kHour), 400 * kHour);
  EXPECT_DOUBLE_EQ(*integrate_known(s, kJan1 + 10, kJan1 + 10), 0.0);
  EXPECT_FALSE(integrate_known(s, kJan1, kJan1 + 2 * kHour + 1));
  EXPECT_FALSE(integrate_known(s, kJan1 - 1, kJan1 + 10));
  EXPECT_FALSE(integrate_known(s, kJan1 + 3 * kHour, kJan1 + 4 * kHour + 1));
  EXPECT_FALSE(integrate_known(s, kJan1 + 20, kJan1 + 10));
}

}  // namespace
}  // namespace carbonmeter
