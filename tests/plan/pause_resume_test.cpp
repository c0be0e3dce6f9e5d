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

// The DP case: exact against the brute force over the same plans (every plan with its piece
// ends on the grid's candidate points but one) and the best uninterrupted run; with fine_q > 0 also
// against the exhaustive search over every plan with its ends on a grid of fine_q seconds from A
// (the queries' times, D and min_run are whole multiples of it then): equal when the planner's
// grid is exact, never better otherwise. Returns the planner's emissions.
double check_constrained(const StepSeries& s, const PlanRequest& r, double fine_q = 0.0,
                         bool* enumerated_out = nullptr) {
  auto plan = plan_pause_resume(s, r);
  EXPECT_TRUE(plan.ok()) << plan.error().message;
  if (!plan.ok()) return 0.0;
  const Plan& p = plan.value();
  expect_well_formed(s, r, p, r.not_before_unix_s, span_end(r));
  auto prepared = PreparedSeries::prepare(s);
  EXPECT_TRUE(prepared.ok());
  const auto grid = plan_detail::slot_grid(prepared.value(), r);
  double best = std::numeric_limits<double>::infinity();
  bool enumerated = !grid;  // no grid: one intensity over the span, where one run is best
  if (grid) {
    EXPECT_EQ(grid->bounds.front(), std::max(r.not_before_unix_s, s.times_unix_s.front()));
    EXPECT_EQ(grid->bounds.back(), std::min(span_end(r), s.times_unix_s.back()));
    for (int k = 0; k < grid->slots(); ++k) {
      const double length = grid->bounds[k + 1] - grid->bounds[k];
      EXPECT_GT(length, 0.0);
      EXPECT_LE(length, grid->slot_s * (1 + 1e-9));
      if (k > 0 && k + 1 < grid->slots()) {
        EXPECT_NEAR(length, grid->slot_s, 1e-6);
      }
    }
    if (grid->exact) {  // every step boundary inside the span is a slot boundary
      for (double t : s.times_unix_s) {
        if (t <= grid->bounds.front() || t >= grid->bounds.back()) continue;
        EXPECT_TRUE(std::binary_search(grid->bounds.begin(), grid->bounds.end(), t)) << "off the grid: " << t;
      }
    }
    if (grid->slots() <= 14) {
      best = lattice_optimum(s, r, *grid);
      enumerated = true;
    }
  }
  const BruteRun run =
      brute_flexible_start(s, r.not_before_unix_s, r.not_before_unix_s + r.window_s, r.duration_s);
  if (run.found) {
    best = std::min(best, run.integral);
    EXPECT_LE(p.expected_emissions_g, grams(run.integral, r.power_w) * (1 + 1e-12));
  }
  if (enumerated) {
    EXPECT_TRUE(near_rel(p.expected_emissions_g, grams(best, r.power_w)))
        << "planner " << p.expected_emissions_g << " g, brute force " << grams(best, r.power_w) << " g";
  }
  if (enumerated_out) *enumerated_out = enumerated;
  // Never below the optimum without constraints (a lower bound).
  const double free = threshold_optimum(s, r.not_before_unix_s, span_end(r), r.duration_s);
  EXPECT_GE(p.expected_emissions_g, grams(free, r.power_w) * (1 - 1e-12));
  if (fine_q > 0) {
    const double fine = grams(fine_grid_optimum(s, r, fine_q), r.power_w);
    if (!grid || grid->exact) {
      EXPECT_TRUE(near_rel(p.expected_emissions_g, fine))
          << "planner " << p.expected_emissions_g << " g, every plan on " << fine_q << " s: " << fine << " g";
    } else {
      EXPECT_GE(p.expected_emissions_g, fine * (1 - 1e-9));
    }
  }
  if (!std::isnan(p.baseline_emissions_g)) {
    EXPECT_LE(p.expected_emissions_g, p.baseline_emissions_g * (1 + 1e-12));
  }
  return p.expected_emissions_g;
}

// constrained: min_run a whole number of min_run_unit (0: of seconds) and/or a pause cost, and
// every query checked against the brute force over its grid (min_run_unit > 0 keeps it small).
void random_queries(const StepSeries& s, unsigned seed, int queries, double max_span, bool constrained,
                    double min_run_unit = 0.0) {
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
      if (min_run_unit > 0) r.min_run_s = std::floor(r.min_run_s / min_run_unit) * min_run_unit;
      r.pause_cost_g = unit(rng) < 0.3 ? 0.0 : std::round(unit(rng) * 30.0 * 100) / 100;
      if (r.min_run_s == 0.0 && r.pause_cost_g == 0.0) r.pause_cost_g = 0.5;
    }
    if (!baseline_known(s, r)) {
      // The baseline's figures are unknown then, but a plan is made if D fits on known values.
      const double optimum = threshold_optimum(s, r.not_before_unix_s, span_end(r), r.duration_s);
      auto plan = plan_pause_resume(s, r);
      if (!constrained) {
        EXPECT_EQ(plan.ok(), optimum < std::numeric_limits<double>::infinity());
      }
      if (!plan.ok()) continue;
      EXPECT_TRUE(std::isnan(plan.value().savings_pct));
    }
    SCOPED_TRACE("query " + std::to_string(q) + ": not_before " + std::to_string(not_before - t0) + " D " +
                 std::to_string(duration) + " delay " + std::to_string(delay) + " min_run " +
                 std::to_string(r.min_run_s) + " pause " + std::to_string(r.pause_cost_g));
    if (constrained) {
      bool enumerated = false;
      check_constrained(s, r, 0.0, &enumerated);
      if (min_run_unit > 0) {
        EXPECT_TRUE(enumerated);
      }
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
    random_queries(random_series(seed + 30, hourly_shape), seed + 30, 20, 11 * kHour, true, kHour);
    SeriesShape five_minutes;
    five_minutes.steps = 200;
    five_minutes.step_choices_s = {300};
    random_queries(random_series(seed + 40, five_minutes), seed + 40, 15, 11 * 300.0, true, 300);
    SeriesShape irregular;  // lengths with a gcd of 900 s
    irregular.steps = 120;
    irregular.step_choices_s = {900, 1800, 2700};
    irregular.unknown_probability = 0.05;
    random_queries(random_series(seed + 50, irregular), seed + 50, 20, 11 * 900.0, true, 900);
  }
}

TEST(PlanPauseResume, MinimumRunsOfAnyLengthStayBetweenTheBounds) {
  // min_run in whole seconds makes the exact grid fine (down to 1 s) or, past the DP's size, coarse:
  // never better than the optimum without constraints, never worse than the best single run.
  for (unsigned seed = 1; seed <= 6; ++seed) {
    SeriesShape shape;
    shape.steps = 60;
    shape.step_choices_s = {900, 1800, kHour};
    shape.unknown_probability = 0.05;
    random_queries(random_series(seed + 90, shape), seed + 90, 12, 11 * kHour, true);
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
  // 3 h in 00:00-03:30: 2.5 h of known values.
  EXPECT_THAT(message(request(kJan1, 3 * kHour, 0.5 * kHour)),
              HasSubstr("reach only until 2026-01-01T02:00:00Z"));
  EXPECT_THAT(message(request(kJan1, 3 * kHour, 0.5 * kHour, 0, 1)),
              HasSubstr("only 2.5 h of known intensity"));
  EXPECT_THAT(message(request(kJan1 - 1, kHour, kHour)), HasSubstr("starts after"));
  EXPECT_THAT(message(request(kJan1 + 5 * kHour, kHour, kHour)), HasSubstr("ends before"));
  // Where the series ends in a forecast, the message says where its data ends.
  StepSeries forecast = hourly({300, 100, kNaN, 100, 200, 100});
  forecast.forecast = {false, false, false, false, true, true};
  auto extended = plan_pause_resume(forecast, request(kJan1 + 2 * kHour, 3.5 * kHour, 0.5 * kHour, 0, 1));
  ASSERT_FALSE(extended.ok());
  EXPECT_THAT(extended.error().message,
              HasSubstr("covers 2026-01-01T00:00:00Z to 2026-01-01T04:00:00Z, then a forecast until "
                        "2026-01-01T06:00:00Z"));
}

TEST(PlanPauseResume, AnUnknownBaselineGivesUnknownFiguresNotAnError) {
  // 00:00-03:00 runs over the gap at 02:00: the plan takes 00:00-02:00 and 03:00-04:00.
  const StepSeries s = hourly({300, 100, kNaN, 100, 200});
  for (double pause : {0.0, 1.0}) {
    const PlanRequest r = request(kJan1, 3 * kHour, kHour, 0, pause);
    auto plan = plan_pause_resume(s, r);
    ASSERT_TRUE(plan.ok()) << plan.error().message;
    const std::vector<Interval> expected = {{kJan1, kJan1 + 2 * kHour},
                                            {kJan1 + 3 * kHour, kJan1 + 4 * kHour}};
    EXPECT_EQ(plan.value().intervals, expected);
    EXPECT_TRUE(std::isnan(plan.value().baseline_emissions_g));
    EXPECT_TRUE(std::isnan(plan.value().baseline_intensity_g_per_kwh));
    EXPECT_TRUE(std::isnan(plan.value().savings_pct));
    EXPECT_NEAR(plan.value().expected_emissions_g, 0.4 * 500 + pause, 1e-9);
    expect_well_formed(s, r, plan.value(), kJan1, kJan1 + 4 * kHour);
  }
  // Not-before inside the gap.
  auto inside = plan_pause_resume(s, request(kJan1 + 2.5 * kHour, kHour, 1.5 * kHour, 0.5 * kHour, 1));
  ASSERT_TRUE(inside.ok()) << inside.error().message;
  EXPECT_EQ(inside.value().intervals, std::vector<Interval>({{kJan1 + 3 * kHour, kJan1 + 4 * kHour}}));
  EXPECT_TRUE(std::isnan(inside.value().savings_pct));
}

// Review issue 1: pieces of at least 90 min on hourly steps. Two 1.5 h pieces that each start on
// a cheap hour (100, then half of 300) cost 500 g at 1 kW; no plan whose pieces end on whole hours
// gets below 900 g.
TEST(PlanPauseResume, MinRunPiecesMayEndInsideAStep) {
  const double t0 = 1654041600;  // 2022-06-01T00:00:00Z
  const StepSeries s = hourly({500, 500, 100, 300, 500, 500, 500, 100, 300, 500, 500, 500}, t0);
  PlanRequest r = request(t0, 3 * kHour, 8 * kHour, 1.5 * kHour);
  r.power_w = 1000;
  auto plan = plan_pause_resume(s, r);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  const std::vector<Interval> expected = {{t0 + 2 * kHour, t0 + 3.5 * kHour},
                                          {t0 + 7 * kHour, t0 + 8.5 * kHour}};
  EXPECT_EQ(plan.value().intervals, expected);
  EXPECT_NEAR(plan.value().expected_emissions_g, 500.0, 1e-9);
  EXPECT_NEAR(check_constrained(s, r, 1800), 500.0, 1e-9);
  check_constrained(s, r, 300);
  // The same with a not-before off the hour, a pause cost, and D not a whole number of slots:
  // against the brute force over the grid's plans, and (on whole minutes) against every plan on 1 min.
  for (double offset : {0.0, 600.0, 1234.0}) {
    for (double pause : {0.0, 20.0}) {
      SCOPED_TRACE(std::to_string(offset) + " s late, pause " + std::to_string(pause) + " g");
      PlanRequest shifted = request(t0 + offset, 3 * kHour + 700, 3 * kHour, 1.5 * kHour, pause);
      shifted.power_w = 1000;
      check_constrained(s, shifted);
      if (offset == 1234.0) continue;
      PlanRequest minutes = request(t0 + offset, 3 * kHour + 720, 7.5 * kHour, 1.5 * kHour + 60, pause);
      minutes.power_w = 1000;
      check_constrained(s, minutes, 60);
    }
  }
}

// Review issue 2: a pause cost with a not-before inside a step must still let the plan start at
// not-before: 00:30-01:00 and 05:00-06:00 cost 150 g (+ 0.001 g a pause), 04:30-06:00 350 g.
TEST(PlanPauseResume, APauseCostKeepsPlansThatStartAtAMidStepNotBefore) {
  const StepSeries s = hourly({100, 500, 500, 500, 500, 100, 500, 500, 500, 500});
  PlanRequest r = request(kJan1 + 1800, 1.5 * kHour, 6 * kHour, 0, 0.001);
  r.power_w = 1000;
  auto plan = plan_pause_resume(s, r);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  const std::vector<Interval> expected = {{kJan1 + 1800, kJan1 + kHour},
                                          {kJan1 + 5 * kHour, kJan1 + 6 * kHour}};
  EXPECT_EQ(plan.value().intervals, expected);
  EXPECT_NEAR(plan.value().expected_emissions_g, 150.001, 1e-9);
  check_constrained(s, r, 1800);
  // And at the span's end: 1 h 40 min until 07:40 takes 02:00-03:00 and 07:00-07:40.
  const StepSeries late = hourly({500, 500, 100, 500, 500, 500, 500, 100, 500});
  PlanRequest end = request(kJan1, 6000, 6 * kHour, 0, 0.001);
  end.power_w = 1000;
  auto at_end = plan_pause_resume(late, end);
  ASSERT_TRUE(at_end.ok());
  const std::vector<Interval> both = {{kJan1 + 2 * kHour, kJan1 + 3 * kHour},
                                      {kJan1 + 7 * kHour, kJan1 + 7 * kHour + 2400}};
  EXPECT_EQ(at_end.value().intervals, both);
  check_constrained(late, end, 1200);
}

// Review issue 4: a maximum delay of 0 leaves one plan, the baseline itself.
TEST(PlanPauseResume, DurationEqualToTheSpanWithNoDelay) {
  const StepSeries s = hourly({300, 10, 500, 10, 200, 50, 400, 20});
  for (double not_before : {kJan1, kJan1 + 1234.0, kJan1 + 1800.0}) {
    for (double d : {2.0 * kHour, 3.5 * kHour, 2.0 * kHour + 1000}) {
      for (const auto& [min_run, pause] :
           {std::pair{0.0, 0.0}, {0.0, 5.0}, {0.5 * kHour, 0.0}, {1234.0, 2.0}}) {
        const PlanRequest r = request(not_before, d, 0.0, min_run, pause);
        SCOPED_TRACE(std::to_string(not_before - kJan1) + " " + std::to_string(d) + " " +
                     std::to_string(min_run));
        auto plan = plan_pause_resume(s, r);
        ASSERT_TRUE(plan.ok()) << plan.error().message;
        EXPECT_EQ(plan.value().intervals, std::vector<Interval>({{not_before, not_before + d}}));
        EXPECT_EQ(plan.value().pauses, 0);
        EXPECT_NEAR(plan.value().savings_pct, 0.0, 1e-9);
        if (min_run > 0 || pause > 0) check_constrained(s, r);
      }
    }
  }
}

// Random series on steps of 15, 30 and 60 minutes (some unknown) and queries on whole 5 minutes:
// the planner's grid is exact there, and it must match the exhaustive search over every plan with
// its ends on 5 minutes, which holds an optimal plan in continuous time.
TEST(PlanPauseResume, ExactAgainstEveryPlanOnAFiveMinuteGrid) {
  std::mt19937_64 rng(606);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const auto units = [&](int most) { return static_cast<int>(unit(rng) * most); };
  int checked = 0, exact = 0;
  for (unsigned seed = 1; seed <= 40; ++seed) {
    SeriesShape shape;
    shape.steps = 30;
    shape.step_choices_s = seed % 4 == 0 ? std::vector<double>{kHour} : std::vector<double>{900, 1800, kHour};
    shape.unknown_probability = 0.06;
    shape.flat_probability = 0.1;
    const StepSeries s = random_series(seed + 600, shape);
    for (int q = 0; q < 6; ++q) {
      const double duration = 300.0 * (1 + units(48));
      const double delay = 300.0 * units(q == 0 ? 1 : 72);
      const double not_before = kJan1 + 300.0 * units(60);
      const double min_run = unit(rng) < 0.25 ? 0.0 : 300.0 * units(static_cast<int>(duration / 300) + 1);
      const double pause = unit(rng) < 0.3 ? 0.0 : std::round(unit(rng) * 1000) / 100;
      PlanRequest r =
          request(not_before, duration, delay, min_run, min_run == 0 && pause == 0 ? 0.01 : pause);
      if (threshold_optimum(s, r.not_before_unix_s, span_end(r), r.duration_s) ==
          std::numeric_limits<double>::infinity())
        continue;
      SCOPED_TRACE("seed " + std::to_string(seed) + " query " + std::to_string(q) + ": not_before +" +
                   std::to_string(not_before - kJan1) + " D " + std::to_string(duration) + " delay " +
                   std::to_string(delay) + " min_run " + std::to_string(min_run) + " pause " +
                   std::to_string(r.pause_cost_g));
      auto plan = plan_pause_resume(s, r);
      const double fine = fine_grid_optimum(s, r, 300);
      if (!plan.ok()) {
        EXPECT_EQ(fine, std::numeric_limits<double>::infinity()) << plan.error().message;
        continue;
      }
      check_constrained(s, r, 300);
      auto prepared = PreparedSeries::prepare(s);
      const auto grid = plan_detail::slot_grid(prepared.value(), r);
      exact += !grid || grid->exact ? 1 : 0;
      ++checked;
    }
  }
  EXPECT_GT(checked, 120);
  EXPECT_EQ(exact, checked);
}

TEST(PlanPauseResume, ExactAgainstEveryPlanOnAOneMinuteGrid) {
  // Minimum runs and offsets in whole minutes that are not whole steps: the grid is 1 minute.
  SeriesShape shape;
  shape.steps = 12;
  shape.step_choices_s = {900, 1800};
  shape.unknown_probability = 0.05;
  for (unsigned seed = 1; seed <= 6; ++seed) {
    const StepSeries s = random_series(seed + 700, shape);
    const PlanRequest r = request(kJan1 + 60.0 * (7 * seed), 60.0 * (40 + 13 * seed), 60.0 * (90 + 11 * seed),
                                  60.0 * (17 + 3 * seed), seed % 3 == 0 ? 0.0 : 0.5 * seed);
    SCOPED_TRACE("seed " + std::to_string(seed));
    if (!plan_pause_resume(s, r).ok()) continue;
    check_constrained(s, r, 60);
  }
}

// Small random cases on whole minutes (not-before anywhere in the first hour, so the span's ends are
// mostly off the steps): the planner against every plan on a 1-minute grid.
TEST(PlanPauseResume, RandomMinuteQueriesMatchEveryPlanOnAOneMinuteGrid) {
  std::mt19937_64 rng(99);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const auto units = [&](int most) { return static_cast<int>(unit(rng) * most); };
  int n_checked = 0, n_lead = 0, n_ends = 0;
  for (unsigned seed = 1; seed <= 500; ++seed) {
    SeriesShape shape;
    shape.steps = 10;
    shape.step_choices_s = {900, 1800, kHour};
    shape.unknown_probability = 0.1;
    const StepSeries s = random_series(seed + 900, shape);
    const double duration = 60.0 * (1 + units(150));
    const double delay = 60.0 * units(unit(rng) < 0.2 ? 1 : 150);
    const double not_before = kJan1 + 60.0 * units(60);
    const double min_run = unit(rng) < 0.25 ? 0.0 : 60.0 * units(static_cast<int>(duration / 60) + 1);
    const double pause = unit(rng) < 0.3 ? 0.0 : std::round(unit(rng) * 1000) / 100;
    PlanRequest r = request(not_before, duration, delay, min_run, min_run == 0 && pause == 0 ? 0.01 : pause);
    SCOPED_TRACE("seed " + std::to_string(seed) + ": not_before +" + std::to_string(not_before - kJan1) +
                 " D " + std::to_string(duration) + " delay " + std::to_string(delay) + " min_run " +
                 std::to_string(min_run) + " pause " + std::to_string(r.pause_cost_g));
    auto plan = plan_pause_resume(s, r);
    const double fine = fine_grid_optimum(s, r, 60);
    if (!plan.ok()) {
      EXPECT_EQ(fine, std::numeric_limits<double>::infinity()) << plan.error().message;
      continue;
    }
    check_constrained(s, r, 60);
    auto prepared = PreparedSeries::prepare(s);
    const auto grid = plan_detail::slot_grid(prepared.value(), r);
    ++n_checked;
    if (grid && (grid->lead || grid->trail)) ++n_lead;
    if (grid && grid->min_run_ends) ++n_ends;
  }
  EXPECT_GT(n_checked, 350);
  EXPECT_GT(n_lead, 200);  // a span end off the grid points
  EXPECT_GT(n_ends, 100);  // [A, A + min_run) and [B - min_run, B) searched too
}

TEST(PlanPauseResume, ACoarserGridIsNeverBetterThanTheOptimum) {
  // 5-minute steps, min_run 7 min, D = 24 h in 30 h: a 1-minute grid would be too big for the DP,
  // so the planner's slots are the 5-minute steps (not exact). It must still be a valid plan, no
  // better than the true optimum, and the best on its own grid (the DP's own set).
  SeriesShape shape;
  shape.steps = 30 * 12 + 12;
  shape.step_choices_s = {300};
  const StepSeries s = random_series(808, shape);
  const PlanRequest r = request(kJan1 + 300, 24 * kHour, 6 * kHour, 420, 3);
  auto prepared = PreparedSeries::prepare(s);
  const auto grid = plan_detail::slot_grid(prepared.value(), r);
  ASSERT_TRUE(grid.has_value());
  EXPECT_FALSE(grid->exact);
  EXPECT_EQ(grid->slot_s, 300.0);
  check_constrained(s, r, 60);
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
