// Both strategies on real hourly data (US EIA 2022, column avg_CI of the shared data folder), and on
// the same data at 5 minutes, against the brute-force references.
//
// The folder: $CARBONMETER_SHARED_HOURLY_DIR, else /work/shared/data/timeseries_hourly/us_eia_2022_hpe_dcrl;
// the tests are skipped when it is missing.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "carbon/intensity_series.hpp"
#include "plan/plan_reference.hpp"

namespace carbonmeter {
namespace {

using namespace plan_test;

std::string shared_dir() {
  if (const char* dir = std::getenv("CARBONMETER_SHARED_HOURLY_DIR")) return dir;
  return "/work/shared/data/timeseries_hourly/us_eia_2022_hpe_dcrl";
}

std::vector<std::pair<std::string, StepSeries>> load_all() {
  std::vector<std::pair<std::string, StepSeries>> out;
  for (const char* zone : {"BPAT", "CISO", "ERCO", "PJM"}) {
    const std::string path = shared_dir() + "/" + zone + "_2022_hourly.csv";
    if (!std::filesystem::exists(path)) continue;
    auto series = IntensitySeries::load(path + ":avg_CI");
    EXPECT_TRUE(series.ok()) << series.error().message;
    if (series.ok()) out.emplace_back(zone, series.value().step_series());
  }
  return out;
}

// The same values at 5 minutes, interpolated linearly between the hours (so that they vary).
StepSeries five_minutes(const StepSeries& hourly, std::size_t hours) {
  StepSeries out;
  for (std::size_t h = 0; h < hours && h + 1 < hourly.g_per_kwh.size(); ++h) {
    for (int m = 0; m < 12; ++m) {
      out.times_unix_s.push_back(hourly.times_unix_s[h] + 300.0 * m);
      const double a = hourly.g_per_kwh[h], b = hourly.g_per_kwh[h + 1];
      out.g_per_kwh.push_back(a + (b - a) * m / 12.0);
    }
  }
  out.times_unix_s.push_back(out.times_unix_s.back() + 300.0);
  return out;
}

// The data has a few empty values: a query whose baseline runs over one is an error (checked in
// the other tests), so these skip it.
bool baseline_known(const StepSeries& s, double not_before, double duration) {
  return direct_integral(s, not_before, not_before + duration).has_value();
}

PlanRequest request(double not_before, double duration, double window, double min_run = 0, double pause = 0) {
  PlanRequest r;
  r.not_before_unix_s = not_before;
  r.duration_s = duration;
  r.window_s = window;
  r.min_run_s = min_run;
  r.pause_cost_g = pause;
  r.power_w = 1500.0;
  return r;
}

void check_flexible(const StepSeries& s, const PlanRequest& r, int grid_points = 300) {
  auto plan = plan_flexible_start(s, r);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  expect_well_formed(s, r, plan.value(), r.not_before_unix_s,
                     r.not_before_unix_s + r.window_s + r.duration_s);
  const BruteRun brute = brute_flexible_start(s, r.not_before_unix_s, r.not_before_unix_s + r.window_s,
                                              r.duration_s, grid_points);
  ASSERT_TRUE(brute.found);
  EXPECT_TRUE(near_rel(plan.value().expected_emissions_g, grams(brute.integral, r.power_w)))
      << plan.value().expected_emissions_g << " vs " << grams(brute.integral, r.power_w);
  EXPECT_NEAR(plan.value().intervals.front().first, brute.start, 1e-6);
}

void check_greedy(const StepSeries& s, const PlanRequest& r) {
  auto plan = plan_pause_resume(s, r);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  const double end = r.not_before_unix_s + r.duration_s + r.window_s;
  expect_well_formed(s, r, plan.value(), r.not_before_unix_s, end);
  const double optimum = threshold_optimum(s, r.not_before_unix_s, end, r.duration_s);
  EXPECT_TRUE(near_rel(plan.value().expected_emissions_g, grams(optimum, r.power_w)));
}

// Against the brute force over the grid's plans (small grids) and, with fine_q > 0, against every
// plan on a grid of fine_q seconds from not-before (which holds the optimum then: the grid is exact).
void check_constrained(const StepSeries& s, const PlanRequest& r, double fine_q = 0.0) {
  auto plan = plan_pause_resume(s, r);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  const double end = r.not_before_unix_s + r.duration_s + r.window_s;
  expect_well_formed(s, r, plan.value(), r.not_before_unix_s, end);
  auto prepared = PreparedSeries::prepare(s);
  ASSERT_TRUE(prepared.ok());
  const auto grid = plan_detail::slot_grid(prepared.value(), r);
  const BruteRun run =
      brute_flexible_start(s, r.not_before_unix_s, r.not_before_unix_s + r.window_s, r.duration_s);
  double best = run.found ? run.integral : std::numeric_limits<double>::infinity();
  if (!grid || grid->slots() <= 14) {
    if (grid) best = std::min(best, lattice_optimum(s, r, *grid));
    EXPECT_TRUE(near_rel(plan.value().expected_emissions_g, grams(best, r.power_w)))
        << plan.value().expected_emissions_g << " vs " << grams(best, r.power_w);
  }
  if (fine_q > 0) {
    ASSERT_TRUE(!grid || grid->exact);
    const double fine = grams(fine_grid_optimum(s, r, fine_q), r.power_w);
    EXPECT_TRUE(near_rel(plan.value().expected_emissions_g, fine))
        << plan.value().expected_emissions_g << " vs " << fine;
  }
}

TEST(PlanSharedData, HourlyFilesBothStrategiesMatchTheReferences) {
  const auto all = load_all();
  if (all.empty()) GTEST_SKIP() << "no shared hourly files in " << shared_dir();
  EXPECT_EQ(all.size(), 4u);
  std::mt19937_64 rng(2022);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (const auto& [zone, s] : all) {
    SCOPED_TRACE(zone);
    ASSERT_EQ(s.g_per_kwh.size(), 8760u);
    const double t0 = s.times_unix_s.front(), tn = s.times_unix_s.back();
    for (int q = 0; q < 25; ++q) {
      const double duration = std::round(kHour * (0.5 + 30 * unit(rng)) + 17);
      const double window = std::round(unit(rng) * 4 * 24 * kHour);
      const double not_before = t0 + std::round(unit(rng) * (tn - t0 - duration - window - kHour));
      if (!baseline_known(s, not_before, duration + kHour)) continue;
      check_flexible(s, request(not_before, duration, window));
      check_greedy(s, request(not_before, duration, window));
      check_flexible(s, request(std::floor(not_before / kHour) * kHour, duration, window));
    }
    for (int q = 0; q < 16; ++q) {  // small spans for the grid's brute force
      const double duration = std::round(kHour * (0.5 + 5 * unit(rng)));
      const double window = std::round(unit(rng) * (11 * kHour - duration));
      double not_before = t0 + std::round(unit(rng) * (tn - t0 - 2 * 24 * kHour));
      if (q % 2 == 0) not_before = std::floor(not_before / kHour) * kHour;
      if (!baseline_known(s, not_before, duration)) continue;
      const double min_run = q % 3 == 0 ? 0.0 : kHour * std::floor(unit(rng) * duration / kHour);
      const double pause = q % 3 == 1 ? 0.0 : 5 + 200 * unit(rng);
      check_constrained(
          s, request(not_before, duration, window, min_run, pause > 0 || min_run > 0 ? pause : 1.0));
      // On whole 5 minutes, with any minimum run: against every plan on 5 minutes.
      const double five = 300 * std::round((not_before - t0) / 300) + t0;
      const double fine_min_run = 300 * std::floor(unit(rng) * duration / 300);
      if (!baseline_known(s, five, 300 * std::round(duration / 300))) continue;
      check_constrained(s,
                        request(five, 300 * std::round(duration / 300), 300 * std::round(window / 300),
                                fine_min_run, pause > 0 || fine_min_run > 0 ? pause : 1.0),
                        300);
    }
    // A whole year of windows: one query, checked on every boundary candidate.
    check_flexible(s, request(t0, 8 * kHour, tn - t0 - 8 * kHour), 100);
  }
}

TEST(PlanSharedData, FiveMinuteSeriesMatchTheReferences) {
  const auto all = load_all();
  if (all.empty()) GTEST_SKIP() << "no shared hourly files in " << shared_dir();
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (const auto& [zone, hourly] : all) {
    SCOPED_TRACE(zone);
    const StepSeries s = five_minutes(hourly, 24 * 28);
    const double t0 = s.times_unix_s.front();
    for (int q = 0; q < 6; ++q) {
      const double duration = std::round(kHour * (0.2 + 12 * unit(rng)));
      const double window = std::round(unit(rng) * 3 * 24 * kHour);
      const double not_before = t0 + std::round(unit(rng) * 20 * 24 * kHour);
      if (!baseline_known(s, not_before, duration)) continue;
      check_flexible(s, request(not_before, duration, window));
      check_greedy(s, request(not_before, duration, window));
    }
    for (int q = 0; q < 4; ++q) {
      const double duration = 300.0 * (1 + 5 * unit(rng));
      const double window = std::round(unit(rng) * (11 * 300.0 - duration));
      const double not_before = t0 + 300.0 * std::round(unit(rng) * 5000);
      if (!baseline_known(s, not_before, duration)) continue;
      check_constrained(s,
                        request(not_before, duration, window, duration * 0.3 * (q % 2), 0.5 + 2.0 * (q / 2)));
    }
  }
}

}  // namespace
}  // namespace carbonmeter
