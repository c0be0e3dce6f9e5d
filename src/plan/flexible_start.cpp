// Flexible Start: the start in [not_before, not_before + window] that minimises the emissions of
// one uninterrupted run of length D.
//
// F(s) = ∫_s^{s+D} I dt is piecewise linear in s: its slope I(s + D) - I(s) changes only where s
// or s + D crosses a step boundary. Its minimum over the allowed starts (those whose run lies on
// known values inside the series) is therefore at a window end or at a start where s or s + D is a
// boundary; the ends of the allowed stretches are such starts too (a run may touch an unknown step
// at its ends, not overlap it). One sweep visits these candidates in increasing order, with a
// pointer for s and one for s + D, and evaluates F from the prefix sums in O(1): O(log n + k) for
// k boundaries in [not_before, not_before + window + D]. Ties go to the earliest start.
#include <algorithm>
#include <limits>

#include "plan/plan_detail.hpp"

namespace carbonmeter {

namespace plan_detail {

std::optional<Run> best_run(const PreparedSeries& series, double first_start, double last_start,
                            double duration) {
  const auto& t = series.times_unix_s();
  const std::size_t n = series.steps();
  const double lo = std::max(first_start, t.front());
  const double hi = std::min(last_start, t.back() - duration);
  if (!(lo <= hi)) return std::nullopt;
  constexpr double kNever = std::numeric_limits<double>::infinity();

  // next_s: the first boundary > s; next_e: the first boundary > e (n + 1: none).
  double s = lo, e = std::min(lo + duration, t.back());
  std::size_t next_s = static_cast<std::size_t>(std::upper_bound(t.begin(), t.end(), s) - t.begin());
  std::size_t next_e = static_cast<std::size_t>(std::upper_bound(t.begin(), t.end(), e) - t.begin());
  std::optional<Run> best;
  for (;;) {
    // The run's steps: from the one holding s to the last one it overlaps.
    const std::size_t first = next_s - 1;
    const std::size_t last = t[next_e - 1] == e ? next_e - 2 : next_e - 1;
    if (series.known_steps(first, std::min(last, n - 1))) {
      const double value = series.integral_in_steps(s, first, e, next_e - 1);
      if (!best || better(value, best->integral)) best = Run{s, e, value};
    }
    if (s >= hi) break;
    const double by_start = next_s <= n ? t[next_s] : kNever;
    const double by_end = next_e <= n ? t[next_e] - duration : kNever;
    const double next = std::min(by_start, by_end);
    if (next >= hi) {
      s = hi;
      e = std::min(hi + duration, t.back());
    } else if (by_end <= by_start) {
      s = std::max(s, by_end);
      e = t[next_e];  // exactly on the boundary, so that the run cannot step over it by rounding
    } else {
      s = by_start;
      e = s + duration;
    }
    while (next_s <= n && t[next_s] <= s) ++next_s;
    while (next_e <= n && t[next_e] <= e) ++next_e;
  }
  return best;
}

}  // namespace plan_detail

Result<Plan> plan_flexible_start(const PreparedSeries& series, const PlanRequest& request) {
  using namespace plan_detail;
  if (auto checked = check_request(request, "flexible-start"); !checked) return checked.error();
  auto baseline = baseline_integral(series, request);
  if (!baseline) return baseline.error();
  const double first = request.not_before_unix_s, last = first + request.window_s;
  const auto run = best_run(series, first, last, request.duration_s);
  if (!run) {
    return Error{"flexible-start: no start in " + format_time(first) + " to " + format_time(last) + " has " +
                 format_duration(request.duration_s) +
                 " of known intensity: " + describe_reach(series, first)};
  }
  return finish_plan(series, request, "flexible-start", {Interval{run->start_unix_s, run->end_unix_s}},
                     baseline.value());
}

Result<Plan> plan_flexible_start(const StepSeries& series, const PlanRequest& request) {
  return plan_detail::plan_on_span(series, request, &plan_flexible_start);
}

}  // namespace carbonmeter
