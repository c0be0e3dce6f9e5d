// Pause and Resume against exact references: without constraints, the threshold optimum of the
// fractional knapsack (and, on small spans, every vertex of its LP); with a minimum run length or
// a pause cost, every plan of the DP's slot grid enumerated by brute force, and every
// uninterrupted run (the other half of the searched set, see src/plan/pause_resume_grid.cpp).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "plan/plan_reference.hpp"

namespace carbonmeter {
namespace {

using namespace plan_test;
using ::testing::HasSubstr;

PlanRequest request(double not_before, double duration, double max_delay, double min_run = 0.0,
                    double pause_cost_g = 0.0) {
  PlanRequest r;
  r.not_before_unix_s = not_before;
  r.duration_s = duration;
  r.window_s = max_delay;
  r.min_run_s = min_run;
  r.pause_cost_g = pause_cost_g;
  r.power_w = 400.0;
  return r;
}

double span_end(const PlanRequest& r) { return r.not_before_unix_s + r.duration_s + r.window_s; }

bool baseline_known(const StepSeries& s, const PlanRequest& r) {
  return direct_integral(s, r.not_before_unix_s, r.not_before_unix_s + r.duration_s).has_value();
}

// The greedy case: exact against the threshold optimum (and the LP's vertices when small).
void check_greedy(const StepSeries& s, const PlanRequest& r) {
  auto plan = plan_pause_resume(s, r);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  const Plan& p = plan.value();
  EXPECT_EQ(p.strategy, "pause-resume");
  expect_well_formed(s, r, p, r.not_before_unix_s, span_end(r));
  const double optimum = threshold_optimum(s, r.not_before_unix_s, span_end(r), r.duration_s);
  EXPECT_TRUE(near_rel(p.expected_emissions_g, grams(optimum, r.power_w)))
      << p.expected_emissions_g << " vs " << grams(optimum, r.power_w);
  int pieces = 0;
  for (std::size_t i = 0; i + 1 < s.times_unix_s.size(); ++i) {
    pieces += s.times_unix_s[i + 1] > r.not_before_unix_s && s.times_unix_s[i] < span_end(r) ? 1 : 0;
  }
  if (pieces <= 14) {
    EXPECT_TRUE(near_rel(optimum, vertex_optimum(s, r.not_before_unix_s, span_end(r), r.duration_s)));
  }
}

// The DP case: exact against the grid's brute force and the best uninterrupted run.
void check_constrained(const StepSeries& s, const PlanRequest& r) {
  auto plan = plan_pause_resume(s, r);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  const Plan& p = plan.value();
  expect_well_formed(s, r, p, r.not_before_unix_s, span_end(r));
  auto prepared = PreparedSeries::prepare(s);
  ASSERT_TRUE(prepared.ok());
  const auto grid = plan_detail::slot_grid(prepared.value(), r);
  double best = std::numeric_limits<double>::infinity();
  if (grid) {
    ASSERT_LE(grid->slots, 16) << "keep the test spans small";
    // Every step boundary inside the span lies on the grid (the steps here have whole-second lengths).
    for (double t : s.times_unix_s) {
      if (t < grid->first_unix_s || t > grid->slot_start(grid->slots)) continue;
      const double k = (t - grid->first_unix_s) / grid->slot_s;
      EXPECT_NEAR(k, std::round(k), 1e-9) << "a step boundary off the grid";
    }
    EXPECT_GE(grid->first_unix_s, r.not_before_unix_s);
    EXPECT_LT(grid->first_unix_s - r.not_before_unix_s, grid->slot_s);
    EXPECT_NEAR(grid->full_slots * grid->slot_s + grid->remainder_s, r.duration_s, 1e-6);
    best = lattice_optimum(s, r, *grid);
  }
  const BruteRun run =
      brute_flexible_start(s, r.not_before_unix_s, r.not_before_unix_s + r.window_s, r.duration_s);
  if (run.found) best = std::min(best, run.integral);
  EXPECT_TRUE(near_rel(p.expected_emissions_g, grams(best, r.power_w)))
      << "planner " << p.expected_emissions_g << " g, brute force " << grams(best, r.power_w) << " g";
  EXPECT_LE(p.expected_emissions_g, p.baseline_emissions_g * (1 + 1e-12));
}

void random_queries(const StepSeries& s, unsigned seed, int queries, double max_span, bool constrained) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const double t0 = s.times_unix_s.front(), tn = s.times_unix_s.back();
  int checked = 0;
  for (int q = 0; q < queries; ++q) {
    const double duration = std::max(60.0, std::round(unit(rng) * max_span * 0.6));
    const double delay = unit(rng) < 0.1 ? 0.0 : std::round(unit(rng) * (max_span - duration));
    double not_before = t0 + std::round(unit(rng) * std::max(0.0, tn - t0 - duration - delay));
    if (unit(rng) < 0.5) {
      const auto i = static_cast<std::size_t>(unit(rng) * (s.g_per_kwh.size() - 1));
      if (s.times_unix_s[i] + duration + delay <= tn) not_before = s.times_unix_s[i];
    }
    PlanRequest r = request(not_before, duration, delay);
    if (constrained) {
      r.min_run_s = unit(rng) < 0.3 ? 0.0 : std::round(unit(rng) * duration);
      r.pause_cost_g = unit(rng) < 0.3 ? 0.0 : std::round(unit(rng) * 30.0 * 100) / 100;
      if (r.min_run_s == 0.0 && r.pause_cost_g == 0.0) r.pause_cost_g = 0.5;
    }
    if (!baseline_known(s, r)) {
      EXPECT_FALSE(plan_pause_resume(s, r).ok());
      continue;
    }
    SCOPED_TRACE("query " + std::to_string(q) + ": not_before " + std::to_string(not_before - t0) + " D " +
                 std::to_string(duration) + " delay " + std::to_string(delay) + " min_run " +
                 std::to_string(r.min_run_s) + " pause " + std::to_string(r.pause_cost_g));
    if (constrained) {
      check_constrained(s, r);
    } else {
      check_greedy(s, r);
    }
    ++checked;
  }
  EXPECT_GT(checked, queries / 3);
}

TEST(PlanPauseResume, GreedyMatchesTheExactOptimumOnRandomSeries) {
  for (unsigned seed = 1; seed <= 8; ++seed) {
    SeriesShape hourly_shape;
    hourly_shape.steps = 96;
    hourly_shape.flat_probability = 0.2;
    random_queries(random_series(seed, hourly_shape), seed, 20, 14 * kHour, false);
    SeriesShape five_minutes;
    five_minutes.steps = 400;
    five_minutes.step_choices_s = {300};
    random_queries(random_series(seed + 10, five_minutes), seed + 10, 10, 6 * kHour, false);
    SeriesShape irregular;
    irregular.steps = 100;
    irregular.step_choices_s = {300, 777.25, 1800, 3600};
    irregular.unknown_probability = 0.1;
    random_queries(random_series(seed + 20, irregular), seed + 20, 20, 10 * kHour, false);
  }
}

TEST(PlanPauseResume, ConstrainedMatchesTheGridBruteForceOnRandomSeries) {
  for (unsigned seed = 1; seed <= 10; ++seed) {
    SeriesShape hourly_shape;
    hourly_shape.steps = 60;
    hourly_shape.unknown_probability = 0.05;
    random_queries(random_series(seed + 30, hourly_shape), seed + 30, 20, 11 * kHour, true);
    SeriesShape five_minutes;
    five_minutes.steps = 200;
    five_minutes.step_choices_s = {300};
    random_queries(random_series(seed + 40, five_minutes), seed + 40, 15, 11 * 300.0, true);
    SeriesShape irregular;  // lengths with a gcd of 900 s
    irregular.steps = 120;
    irregular.step_choices_s = {900, 1800, 2700};
    irregular.unknown_probability = 0.05;
    random_queries(random_series(seed + 50, irregular), seed + 50, 20, 11 * 900.0, true);
  }
}

TEST(PlanPauseResume, GreedyHandExampleTiesEarlierFirstPartialAtTheStepStart) {
  // 300 100 200 100 50 400: 2.5 h within 6 h takes 04:00 (50), 01:00 (100, the earlier of the two
  // 100s), then half of 03:00 from its start.
  const StepSeries s = hourly({300, 100, 200, 100, 50, 400});
  auto plan = plan_pause_resume(s, request(kJan1, 2.5 * kHour, 3.5 * kHour));
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  const std::vector<Interval> expected = {{kJan1 + kHour, kJan1 + 2 * kHour},
                                          {kJan1 + 3 * kHour, kJan1 + 3.5 * kHour},
                                          {kJan1 + 4 * kHour, kJan1 + 5 * kHour}};
  EXPECT_EQ(plan.value().intervals, expected);
  EXPECT_EQ(plan.value().pauses, 2);
  EXPECT_NEAR(plan.value().expected_intensity_g_per_kwh, 200.0 / 2.5, 1e-12);
  EXPECT_NEAR(plan.value().baseline_intensity_g_per_kwh, 500.0 / 2.5, 1e-12);
  EXPECT_NEAR(plan.value().savings_pct, 60.0, 1e-9);
  // Touching pieces merge: 100 100 300 100 takes 00:00-02:00 and 03:00-03:30.
  auto merged = plan_pause_resume(hourly({100, 100, 300, 100}), request(kJan1, 2.5 * kHour, 1.5 * kHour));
  ASSERT_TRUE(merged.ok());
  const std::vector<Interval> two = {{kJan1, kJan1 + 2 * kHour}, {kJan1 + 3 * kHour, kJan1 + 3.5 * kHour}};
  EXPECT_EQ(merged.value().intervals, two);
  EXPECT_EQ(merged.value().pauses, 1);
}

TEST(PlanPauseResume, MinimumRunAndPauseCost) {
  // 50 400 50 400 50 400 50 50: 3 h.
  const StepSeries s = hourly({50, 400, 50, 400, 50, 400, 50, 50});
  // Free: the four cheap hours... three of them: 00, 02, 04 → 3 pieces.
  auto free = plan_pause_resume(s, request(kJan1, 3 * kHour, 5 * kHour));
  ASSERT_TRUE(free.ok());
  EXPECT_EQ(free.value().pauses, 2);
  // Pieces of at least 2 h: checked against the grid's brute force.
  check_constrained(s, request(kJan1, 3 * kHour, 5 * kHour, 2 * kHour));
  auto long_runs = plan_pause_resume(s, request(kJan1, 3 * kHour, 5 * kHour, 2 * kHour));
  for (const auto& [a, b] : long_runs.value().intervals) EXPECT_GE(b - a, 2 * kHour);
  // One pause swaps a 400 hour for a 50 hour: 400 W × 1 h × 350 g/kWh = 140 g saved. Worth it
  // at 100 g a pause, not at 200 g.
  check_constrained(s, request(kJan1, 3 * kHour, 5 * kHour, 0, 100));
  auto cheap_pause = plan_pause_resume(s, request(kJan1, 3 * kHour, 5 * kHour, 0, 100));
  EXPECT_EQ(cheap_pause.value().pauses, 1);  // 00:00 + 06:00-08:00
  EXPECT_NEAR(cheap_pause.value().expected_emissions_g, 0.4 * 150 + 100, 1e-9);
  auto dear_pause = plan_pause_resume(s, request(kJan1, 3 * kHour, 5 * kHour, 0, 200));
  EXPECT_EQ(dear_pause.value().pauses, 0);
  // 00:00, 02:00, 04:00 and 05:00 all start 500 g/kWh·h runs: the earliest.
  EXPECT_EQ(dear_pause.value().intervals.front(), Interval(kJan1, kJan1 + 3 * kHour));
}

TEST(PlanPauseResume, AHugePauseCostGivesFlexibleStartsAnswer) {
  SeriesShape shape;
  shape.steps = 200;
  shape.step_choices_s = {300, 600, 1500};
  for (unsigned seed = 1; seed <= 5; ++seed) {
    const StepSeries s = random_series(seed + 70, shape);
    const PlanRequest r = request(kJan1 + 1234, 5.3 * kHour, 9 * kHour, 0, 1e9);
    auto resumed = plan_pause_resume(s, r);
    auto flexible = plan_flexible_start(s, r);
    ASSERT_TRUE(resumed.ok() && flexible.ok());
    EXPECT_EQ(resumed.value().intervals, flexible.value().intervals);
    EXPECT_EQ(resumed.value().pauses, 0);
  }
}

TEST(PlanPauseResume, ATinyPauseCostOnAnAlignedSeriesAgreesWithTheGreedy) {
  SeriesShape shape;
  shape.steps = 500;
  shape.step_choices_s = {300};
  const StepSeries s = random_series(91, shape);
  for (double d : {2.0 * kHour, 3.1 * kHour, 7.75 * kHour}) {
    const PlanRequest free = request(kJan1 + 3000, d, 12 * kHour);
    PlanRequest tiny = free;
    tiny.pause_cost_g = 1e-12;
    auto a = plan_pause_resume(s, free), b = plan_pause_resume(s, tiny);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_TRUE(near_rel(a.value().expected_emissions_g, b.value().expected_emissions_g, 1e-9));
  }
}

TEST(PlanPauseResume, NeverRunsOverUnknownValues) {
  const StepSeries s = hourly({300, 10, kNaN, 10, 300, kNaN, 5, 400});
  for (double pause : {0.0, 1.0}) {
    auto plan = plan_pause_resume(s, request(kJan1, 2 * kHour, 6 * kHour, 0, pause));
    ASSERT_TRUE(plan.ok()) << plan.error().message;
    expect_well_formed(s, request(kJan1, 2 * kHour, 6 * kHour, 0, pause), plan.value(), kJan1,
                       kJan1 + 8 * kHour);
    EXPECT_EQ(plan.value().intervals.front().first, kJan1 + kHour);
  }
}

TEST(PlanPauseResume, ClearErrors) {
  const StepSeries s = hourly({300, 100, kNaN, 100, 200});
  const auto message = [&](PlanRequest r) {
    auto plan = plan_pause_resume(s, r);
    EXPECT_FALSE(plan.ok());
    return plan.ok() ? std::string() : plan.error().message;
  };
  EXPECT_THAT(message(request(kJan1, 2 * kHour, kHour, 3 * kHour)), HasSubstr("minimum run length"));
  EXPECT_THAT(message(request(kJan1, 2 * kHour, kHour, -1)), HasSubstr("minimum run length must be >= 0"));
  EXPECT_THAT(message(request(kJan1, 2 * kHour, kHour, 0, -1)), HasSubstr("cost per pause"));
  EXPECT_THAT(message(request(kJan1, 2 * kHour, -kHour)), HasSubstr("shorter than the duration"));
  EXPECT_THAT(message(request(kJan1, 0.0, kHour)), HasSubstr("duration must be > 0"));
  EXPECT_THAT(message(request(kJan1, 3 * kHour, kHour)), HasSubstr("reach only until 2026-01-01T02:00:00Z"));
}

TEST(PlanPauseResume, UsesForecastWhenAPieceOrTheBaselineTouchesIt) {
  StepSeries s = hourly({300, 300, 300, 300, 10, 10});
  s.forecast = {false, false, false, false, true, true};
  auto into = plan_pause_resume(s, request(kJan1, 2 * kHour, 4 * kHour));
  ASSERT_TRUE(into.ok());
  EXPECT_TRUE(into.value().uses_forecast);
  auto before = plan_pause_resume(s, request(kJan1, 2 * kHour, 1 * kHour, 0, 5));
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(before.value().uses_forecast);
}

TEST(PlanPauseResume, PreparedSeriesGivesTheSameAnswers) {
  // The StepSeries overload plans on the steps of the span only; the prepared series holds them all.
  SeriesShape shape;
  shape.steps = 300;
  shape.step_choices_s = {300, 600, 900};
  shape.unknown_probability = 0.02;
  const StepSeries s = random_series(17, shape);
  auto prepared = PreparedSeries::prepare(s);
  ASSERT_TRUE(prepared.ok());
  int compared = 0;
  for (int q = 0; q < 30; ++q) {
    const PlanRequest r = request(kJan1 + 1111.0 * q, 1.5 * kHour + 13 * q, 4 * kHour, q % 3 == 0 ? 0 : 1200,
                                  q % 2 == 0 ? 0 : 3);
    auto a = plan_pause_resume(s, r), b = plan_pause_resume(prepared.value(), r);
    ASSERT_EQ(a.ok(), b.ok());
    if (!a.ok()) {
      EXPECT_EQ(a.error().message, b.error().message);
      continue;
    }
    ++compared;
    EXPECT_EQ(a.value().intervals, b.value().intervals);
    EXPECT_TRUE(near_rel(a.value().expected_emissions_g, b.value().expected_emissions_g, 1e-12));
  }
  EXPECT_GT(compared, 15);
}

}  // namespace
}  // namespace carbonmeter
