// The carbon-aware planner on a year of 5-minute intensity data (105,120 steps).
//
// Targets (issue 6): one Flexible Start query <= 1 ms; one Pause and Resume query (D = 3 days,
// max delay 4 days) <= 5 ms; 1,000 Flexible Start queries over the year (every start day in turn,
// D = 8 h, window 24 h) < 1 s in all.
//
// The series is synthetic and deterministic: a daily and a weekly cycle, a slow seasonal drift
// and noise (mt19937_64, seed 6), 150-550 g/kWh. Queries run on a PreparedSeries (prefix sums
// built once: BM_Prepare is that cost) unless the name says Unprepared (the StepSeries overloads,
// which prepare on every call).
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "plan/forecast.hpp"
#include "plan/planner.hpp"

namespace cm = carbonmeter;

namespace {

constexpr double kJan1 = 1767225600.0;  // 2026-01-01T00:00:00Z
constexpr double kHour = 3600.0, kDay = 24 * kHour;
constexpr int kSteps = 105120;  // 365 days of 5 minutes

const cm::StepSeries& year() {
  static const cm::StepSeries series = [] {
    cm::StepSeries s;
    std::mt19937_64 rng(6);
    std::normal_distribution<double> noise(0.0, 15.0);
    for (int i = 0; i <= kSteps; ++i) s.times_unix_s.push_back(kJan1 + 300.0 * i);
    for (int i = 0; i < kSteps; ++i) {
      const double t = 300.0 * i;
      const double daily = 90 * std::sin(2 * M_PI * t / kDay),
                   weekly = 40 * std::cos(2 * M_PI * t / (7 * kDay));
      const double season = 60 * std::sin(2 * M_PI * t / (365 * kDay));
      s.g_per_kwh.push_back(std::max(150.0, std::min(550.0, 350 + daily + weekly + season + noise(rng))));
    }
    return s;
  }();
  return series;
}

const cm::PreparedSeries& prepared() {
  static const cm::PreparedSeries series = [] {
    auto p = cm::PreparedSeries::prepare(year());
    if (!p) {
      std::fprintf(stderr, "plan_bench: %s\n", p.error().message.c_str());
      std::exit(1);
    }
    return std::move(p).value();
  }();
  return series;
}

cm::PlanRequest request(double not_before, double duration, double window, double min_run = 0,
                        double pause = 0) {
  cm::PlanRequest r;
  r.not_before_unix_s = not_before;
  r.duration_s = duration;
  r.window_s = window;
  r.min_run_s = min_run;
  r.pause_cost_g = pause;
  return r;
}

template <class Planner>
void run(benchmark::State& state, Planner planner, const cm::PlanRequest& r) {
  for (auto _ : state) {
    auto plan = planner(r);
    if (!plan) {
      state.SkipWithError(plan.error().message.c_str());
      return;
    }
    benchmark::DoNotOptimize(plan.value().expected_emissions_g);
    state.counters["pieces"] = static_cast<double>(plan.value().intervals.size());
  }
}

const auto flexible = [](const cm::PlanRequest& r) { return cm::plan_flexible_start(prepared(), r); };
const auto resume = [](const cm::PlanRequest& r) { return cm::plan_pause_resume(prepared(), r); };

// Building the prefix sums of the year (once per series).
void BM_Prepare(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(cm::PreparedSeries::prepare(year()));
}
BENCHMARK(BM_Prepare)->Unit(benchmark::kMicrosecond);

// D = 8 h, window 24 h, mid-year.
void BM_FlexibleStart_Window24h(benchmark::State& state) {
  run(state, flexible, request(kJan1 + 180 * kDay + 1234, 8 * kHour, kDay));
}
BENCHMARK(BM_FlexibleStart_Window24h)->Unit(benchmark::kMicrosecond);

// D = 8 h, a window of the whole year (every one of the 210,000 boundary candidates).
void BM_FlexibleStart_WholeYear(benchmark::State& state) {
  run(state, flexible, request(kJan1, 8 * kHour, 365 * kDay - 8 * kHour));
}
BENCHMARK(BM_FlexibleStart_WholeYear)->Unit(benchmark::kMicrosecond);

// The same whole-year query through the StepSeries overload (prepares the year every call).
void BM_FlexibleStart_WholeYear_Unprepared(benchmark::State& state) {
  run(
      state, [](const cm::PlanRequest& r) { return cm::plan_flexible_start(year(), r); },
      request(kJan1, 8 * kHour, 365 * kDay - 8 * kHour));
}
BENCHMARK(BM_FlexibleStart_WholeYear_Unprepared)->Unit(benchmark::kMicrosecond);

// 1,000 queries: start days 0..363 in turn (three rounds), D = 8 h, window 24 h. One iteration is
// all 1,000.
void BM_FlexibleStart_1000Queries(benchmark::State& state) {
  for (auto _ : state) {
    double total = 0.0;
    for (int q = 0; q < 1000; ++q) {
      auto plan = cm::plan_flexible_start(prepared(), request(kJan1 + (q % 364) * kDay, 8 * kHour, kDay));
      total += plan.value().expected_emissions_g;
    }
    benchmark::DoNotOptimize(total);
  }
}
BENCHMARK(BM_FlexibleStart_1000Queries)->Unit(benchmark::kMillisecond);

// The same 1,000 through the StepSeries overload: each query prepares the whole year again.
void BM_FlexibleStart_1000Queries_Unprepared(benchmark::State& state) {
  for (auto _ : state) {
    double total = 0.0;
    for (int q = 0; q < 1000; ++q) {
      auto plan = cm::plan_flexible_start(year(), request(kJan1 + (q % 364) * kDay, 8 * kHour, kDay));
      total += plan.value().expected_emissions_g;
    }
    benchmark::DoNotOptimize(total);
  }
}
BENCHMARK(BM_FlexibleStart_1000Queries_Unprepared)->Unit(benchmark::kMillisecond)->Iterations(1);

// Pause and Resume, D = 3 days, max delay 4 days: the greedy (no constraint).
void BM_PauseResume_Greedy(benchmark::State& state) {
  run(state, resume, request(kJan1 + 100 * kDay + 1234, 3 * kDay, 4 * kDay));
}
BENCHMARK(BM_PauseResume_Greedy)->Unit(benchmark::kMicrosecond);

// The DP: pieces of at least 2 h, 20 g a pause (2016 slots × 865 whole-slot counts).
void BM_PauseResume_MinRunAndPauseCost(benchmark::State& state) {
  run(state, resume, request(kJan1 + 100 * kDay + 1200, 3 * kDay, 4 * kDay, 2 * kHour, 20));
}
BENCHMARK(BM_PauseResume_MinRunAndPauseCost)->Unit(benchmark::kMicrosecond);

// The DP with a pause cost only, and D not a whole number of slots (the partial slot's states).
void BM_PauseResume_PauseCostPartialSlot(benchmark::State& state) {
  run(state, resume, request(kJan1 + 100 * kDay + 1234, 3 * kDay + 100, 4 * kDay, 0, 20));
}
BENCHMARK(BM_PauseResume_PauseCostPartialSlot)->Unit(benchmark::kMicrosecond);

// Extending the year by 7 days with the weekly profile, and its backtest.
void BM_Forecast_Week(benchmark::State& state) {
  for (auto _ : state) {
    auto out = cm::extend_with_forecast(year(), year().times_unix_s.back() + 7 * kDay);
    benchmark::DoNotOptimize(out.value().quality->backtest_mape);
  }
}
BENCHMARK(BM_Forecast_Week)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
