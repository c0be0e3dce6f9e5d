// Pause and Resume: the intervals inside [not_before, not_before + D + max_delay] that add up to D
// and minimise emissions.
//
// Without a minimum run length or a pause cost this is a fractional knapsack and the greedy choice
// is exact: the known steps clipped to the span, cheapest first (ties: the earlier step), the last
// one partly, its part placed at the step's start; touching pieces are merged into intervals.
// With either constraint the search is the DP of pause_resume_grid.cpp (exact in continuous time
// when its slot grid is: SlotGrid::exact), compared with the best uninterrupted run (Flexible Start
// over the same span, exact in continuous time), which needs no pause at all.
#include <algorithm>
#include <cmath>
#include <vector>

#include "plan/plan_detail.hpp"

namespace carbonmeter {

namespace {

using namespace plan_detail;

struct Piece {
  double from = 0.0;
  double to = 0.0;
  double g_per_kwh = 0.0;
};

// The known steps clipped to [from, to], in time order.
std::vector<Piece> known_pieces(const PreparedSeries& series, double from, double to) {
  std::vector<Piece> out;
  const auto& t = series.times_unix_s();
  const auto& values = series.series().g_per_kwh;
  const double a = std::max(from, series.start_unix_s()), b = std::min(to, series.end_unix_s());
  if (!(a < b)) return out;
  for (std::size_t i = series.step_at(a); i < values.size() && t[i] < b; ++i) {
    if (std::isnan(values[i])) continue;
    const double piece_from = std::max(a, t[i]), piece_to = std::min(b, t[i + 1]);
    if (piece_to > piece_from) out.push_back({piece_from, piece_to, values[i]});
  }
  return out;
}

std::vector<Interval> greedy(std::vector<Piece> pieces, double duration) {
  std::stable_sort(pieces.begin(), pieces.end(),
                   [](const Piece& x, const Piece& y) { return x.g_per_kwh < y.g_per_kwh; });
  std::vector<Interval> chosen;
  double left = duration;
  for (const auto& piece : pieces) {
    const double length = piece.to - piece.from;
    if (length >= left) {
      chosen.emplace_back(piece.from, left == length ? piece.to : piece.from + left);
      break;
    }
    chosen.emplace_back(piece.from, piece.to);
    left -= length;
  }
  return merge_touching(std::move(chosen));
}

}  // namespace

Result<Plan> plan_pause_resume(const PreparedSeries& series, const PlanRequest& request) {
  if (auto checked = check_request(request, "pause-resume"); !checked) return checked.error();
  auto baseline = baseline_integral(series, request);
  if (!baseline) return baseline.error();
  const double from = request.not_before_unix_s, to = from + request.duration_s + request.window_s;
  auto pieces = known_pieces(series, from, to);
  double known_s = 0.0;
  for (const auto& piece : pieces) known_s += piece.to - piece.from;
  if (known_s < request.duration_s * (1 - 1e-12)) {
    return Error{"pause-resume: only " + format_duration(known_s) + " of known intensity in " +
                 format_time(from) + " to " + format_time(to) +
                 ", less than the duration: " + describe_reach(series, from)};
  }
  if (request.min_run_s <= 0 && request.pause_cost_g <= 0) {
    return finish_plan(series, request, "pause-resume", greedy(std::move(pieces), request.duration_s),
                       baseline.value());
  }
  const auto run = best_run(series, from, from + request.window_s, request.duration_s);
  std::optional<GridPlan> on_grid;
  // When two pieces cannot both last min_run, every plan is one uninterrupted run: best_run's.
  const bool one_piece = 2 * request.min_run_s > request.duration_s;
  if (const auto grid = one_piece ? std::nullopt : slot_grid(series, request)) {
    on_grid = best_grid_plan(series, request, *grid);
  }
  if (on_grid && (!run || better(on_grid->cost, run->integral))) {
    return finish_plan(series, request, "pause-resume", std::move(on_grid->intervals), baseline.value());
  }
  if (!run) {
    return Error{"pause-resume: no plan of " + format_duration(request.duration_s) + " fits in " +
                 format_time(from) + " to " + format_time(to) + " with runs of at least " +
                 format_duration(request.min_run_s) + ": " + describe_reach(series, from)};
  }
  return finish_plan(series, request, "pause-resume", {Interval{run->start_unix_s, run->end_unix_s}},
                     baseline.value());
}

Result<Plan> plan_pause_resume(const StepSeries& series, const PlanRequest& request) {
  return plan_detail::plan_on_span(series, request, &plan_pause_resume);
}

}  // namespace carbonmeter
