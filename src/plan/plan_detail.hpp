// The planner's internal pieces, shared by src/plan/*.cpp (and looked at by tests/plan/): not part
// of planner.hpp's contract.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "carbonmeter/result.hpp"
#include "plan/planner.hpp"

namespace carbonmeter::plan_detail {

// Two costs closer than this (relative) are a tie: the earlier plan wins. Far above the rounding
// of the prefix sums (a few ulps), far below any difference that matters.
constexpr double kTieRelative = 1e-12;

inline bool better(double candidate, double best) {
  return candidate < best - kTieRelative * (best < 0 ? -best : best);
}

Status check_series(const StepSeries& series);

// The StepSeries overloads: checks the whole series, then prepares only the steps that overlap
// the request's span [not_before, not_before + D + window] (the plan is the same, and a query with
// a short span stays cheap on a long series) and plans there; an error is redone on the whole
// series, so that its message describes the whole series.
Result<Plan> plan_on_span(const StepSeries& series, const PlanRequest& request,
                          Result<Plan> (*planner)(const PreparedSeries&, const PlanRequest&));
Status check_request(const PlanRequest& request, std::string_view strategy);

std::string format_time(double unix_s);  // "2022-01-01T00:00:00Z"
std::string format_duration(double s);   // "90 s", "45 min", "7.5 h"
// Where the known values around `from` end, for error messages: "known values from X reach only
// until Y (the series covers A to B)".
std::string describe_reach(const PreparedSeries& series, double from_unix_s);

// Sorts the pieces and merges those that touch (one's end is the next one's start).
std::vector<Interval> merge_touching(std::vector<Interval> pieces);

// g/kWh·s at power_w → grams.
inline double grams(double integral_g_per_kwh_s, double power_w) {
  return power_w / 1000.0 * integral_g_per_kwh_s / 3600.0;
}

// The best uninterrupted run of `duration_s` starting in [first_start, last_start] on known values
// (exact in continuous time; ties: the earliest start), or nullopt when no start is allowed.
struct Run {
  double start_unix_s = 0.0;
  double end_unix_s = 0.0;
  double integral = 0.0;  // g/kWh·s
};
std::optional<Run> best_run(const PreparedSeries& series, double first_start_unix_s, double last_start_unix_s,
                            double duration_s);

// The baseline (not_before, uninterrupted): NaN when it runs over unknown values or past the
// series' end; an error when not_before lies outside the series. And the figures of a plan made of
// `intervals` (NaN baseline: NaN baseline figures and saving).
Result<double> baseline_integral(const PreparedSeries& series, const PlanRequest& request);
Plan finish_plan(const PreparedSeries& series, const PlanRequest& request, std::string strategy,
                 std::vector<Interval> intervals, double baseline);

// Pause and Resume with min_run_s or pause_cost_g: the slot grid the DP searches on
// (pause_resume_grid.cpp says which plans, and when that is the exact optimum). Slot k is
// [bounds[k], bounds[k + 1]); bounds run from the span's start A to its end B, and every slot lasts
// slot_s but the first (when `lead`) and the last (when `trail`), which are shorter.
struct SlotGrid {
  std::vector<double> bounds;  // slots() + 1, strictly increasing: A, the grid points inside, B
  double slot_s = 0.0;
  bool lead = false;
  bool trail = false;
  bool min_run_ends = false;  // A + min_run and B - min_run are piece ends too
  bool exact = false;         // the DP's optimum is the optimum in continuous time
  int slots() const { return static_cast<int>(bounds.size()) - 1; }
  double slot_start(int k) const { return bounds[static_cast<std::size_t>(k)]; }
};
// nullopt when the span is shorter than D or holds no step boundary (one intensity: one run is best).
std::optional<SlotGrid> slot_grid(const PreparedSeries& series, const PlanRequest& request);

struct GridPlan {
  std::vector<Interval> intervals;  // sorted, touching pieces merged
  double cost = 0.0;                // g/kWh·s, pauses included at their g/kWh·s equivalent
};
std::optional<GridPlan> best_grid_plan(const PreparedSeries& series, const PlanRequest& request,
                                       const SlotGrid& grid);

// pause_cost_g as g/kWh·s at the request's power.
inline double pause_cost_integral(const PlanRequest& request) {
  return request.pause_cost_g * 3600.0 * 1000.0 / request.power_w;
}

}  // namespace carbonmeter::plan_detail
