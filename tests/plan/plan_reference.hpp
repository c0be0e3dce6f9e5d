// Brute-force references for the planner tests: slow, simple, written without the planner's code.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <vector>

#include "plan/plan_detail.hpp"
#include "plan/planner.hpp"

namespace carbonmeter::plan_test {

constexpr double kJan1 = 1767225600.0;  // 2026-01-01T00:00:00Z
constexpr double kHour = 3600.0;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

inline bool near_rel(double a, double b, double rel = 1e-9) {
  return std::abs(a - b) <= rel * std::max({1.0, std::abs(a), std::abs(b)});
}

// ∫ over [from, to] step by step, or nullopt when any part is unknown or outside.
inline std::optional<double> direct_integral(const StepSeries& s, double from, double to) {
  if (from < s.times_unix_s.front() || to > s.times_unix_s.back() || from > to) return std::nullopt;
  double sum = 0.0;
  const auto after = std::upper_bound(s.times_unix_s.begin(), s.times_unix_s.end(), from);
  std::size_t i =
      after == s.times_unix_s.begin() ? 0 : static_cast<std::size_t>(after - s.times_unix_s.begin()) - 1;
  for (; i < s.g_per_kwh.size() && s.times_unix_s[i] < to; ++i) {
    const double a = std::max(from, s.times_unix_s[i]), b = std::min(to, s.times_unix_s[i + 1]);
    if (b <= a) continue;
    if (std::isnan(s.g_per_kwh[i])) return std::nullopt;
    sum += s.g_per_kwh[i] * (b - a);
  }
  return sum;
}

inline double grams(double integral, double power_w) { return power_w / 1000.0 * integral / 3600.0; }

struct SeriesShape {
  int steps = 48;
  std::vector<double> step_choices_s = {kHour};  // each step's length is one of these
  double unknown_probability = 0.0;
  double flat_probability = 0.0;  // a value repeats the previous one
};

// One value per hour from `start`.
inline StepSeries hourly(const std::vector<double>& values, double start = kJan1) {
  StepSeries s;
  for (std::size_t i = 0; i <= values.size(); ++i) s.times_unix_s.push_back(start + kHour * i);
  s.g_per_kwh = values;
  return s;
}

inline StepSeries random_series(unsigned seed, const SeriesShape& shape, double start = kJan1) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> value(20.0, 600.0), unit(0.0, 1.0);
  std::uniform_int_distribution<std::size_t> pick(0, shape.step_choices_s.size() - 1);
  StepSeries s;
  double t = start;
  for (int i = 0; i < shape.steps; ++i) {
    s.times_unix_s.push_back(t);
    double v = value(rng);
    if (i > 0 && unit(rng) < shape.flat_probability && !std::isnan(s.g_per_kwh.back()))
      v = s.g_per_kwh.back();
    if (unit(rng) < shape.unknown_probability) v = kNaN;
    s.g_per_kwh.push_back(v);
    t += shape.step_choices_s[pick(rng)];
  }
  s.times_unix_s.push_back(t);
  return s;
}

// The plan is well formed: sorted, disjoint, pieces separated by gaps, inside [lo, hi], on known
// values, adding up to D, with pauses = intervals - 1 and emissions = a direct integration.
inline void expect_well_formed(const StepSeries& s, const PlanRequest& r, const Plan& plan, double lo,
                               double hi) {
  ASSERT_FALSE(plan.intervals.empty());
  double total = 0.0, integral = 0.0;
  for (std::size_t i = 0; i < plan.intervals.size(); ++i) {
    const auto [a, b] = plan.intervals[i];
    EXPECT_LT(a, b);
    EXPECT_GE(a, lo - 1e-6);
    EXPECT_LE(b, hi + 1e-6);
    if (i > 0) {
      EXPECT_GT(a, plan.intervals[i - 1].second) << "pieces must not touch or overlap";
    }
    const auto piece = direct_integral(s, a, b);
    ASSERT_TRUE(piece.has_value()) << "a piece runs over unknown values: " << a << " to " << b;
    integral += *piece;
    total += b - a;
    EXPECT_GE(b - a, r.min_run_s - 1e-6);
  }
  EXPECT_NEAR(total, r.duration_s, 1e-6 * std::max(1.0, r.duration_s));
  EXPECT_EQ(plan.pauses, static_cast<int>(plan.intervals.size()) - 1);
  EXPECT_TRUE(near_rel(plan.expected_emissions_g, grams(integral, r.power_w) + plan.pauses * r.pause_cost_g))
      << plan.expected_emissions_g << " vs " << grams(integral, r.power_w) + plan.pauses * r.pause_cost_g;
  const auto baseline = direct_integral(s, r.not_before_unix_s, r.not_before_unix_s + r.duration_s);
  if (!baseline) {  // the baseline runs over unknown values: its figures are unknown
    EXPECT_TRUE(std::isnan(plan.baseline_emissions_g));
    EXPECT_TRUE(std::isnan(plan.baseline_intensity_g_per_kwh));
    EXPECT_TRUE(std::isnan(plan.savings_pct));
    return;
  }
  EXPECT_TRUE(near_rel(plan.baseline_emissions_g, grams(*baseline, r.power_w)));
  const double saving =
      plan.baseline_emissions_g > 0
          ? 100 * (plan.baseline_emissions_g - plan.expected_emissions_g) / plan.baseline_emissions_g
          : 0.0;
  EXPECT_NEAR(plan.savings_pct, saving, 1e-9);
}

// Flexible Start by brute force: every boundary candidate plus a fine grid of starts; returns the
// least integral and the earliest start that reaches it (ties within 1e-12).
struct BruteRun {
  double integral = std::numeric_limits<double>::infinity();
  double start = 0.0;
  bool found = false;
};

inline BruteRun brute_flexible_start(const StepSeries& s, double first, double last, double d,
                                     int grid_points = 2000) {
  std::vector<double> starts = {first, last};
  for (int g = 0; g <= grid_points; ++g) starts.push_back(first + (last - first) * g / grid_points);
  for (double t : s.times_unix_s) {
    if (t >= first && t <= last) starts.push_back(t);
    if (t - d >= first && t - d <= last) starts.push_back(t - d);
  }
  std::sort(starts.begin(), starts.end());
  BruteRun best;
  for (double start : starts) {
    const auto value = direct_integral(s, start, start + d);
    if (!value) continue;
    if (!best.found || *value < best.integral - 1e-12 * std::abs(best.integral)) {
      best = {*value, start, true};
    }
  }
  return best;
}

// Pause and Resume without constraints, exactly: the threshold θ below which every known time of
// the span is taken, plus the time at θ that D still needs.
inline double threshold_optimum(const StepSeries& s, double from, double to, double d) {
  std::vector<std::pair<double, double>> pieces;  // value, length
  for (std::size_t i = 0; i < s.g_per_kwh.size(); ++i) {
    const double a = std::max(from, s.times_unix_s[i]), b = std::min(to, s.times_unix_s[i + 1]);
    if (b > a && !std::isnan(s.g_per_kwh[i])) pieces.emplace_back(s.g_per_kwh[i], b - a);
  }
  std::vector<double> thresholds;
  for (const auto& p : pieces) thresholds.push_back(p.first);
  std::sort(thresholds.begin(), thresholds.end());
  for (double theta : thresholds) {
    double below_len = 0.0, below_sum = 0.0, at_len = 0.0;
    for (const auto& [v, len] : pieces) {
      if (v < theta) below_len += len, below_sum += v * len;
      if (v == theta) at_len += len;
    }
    if (below_len + at_len >= d - 1e-9) return below_sum + theta * (d - below_len);
  }
  return std::numeric_limits<double>::infinity();
}

// The same by enumerating the vertices of the LP: a set of whole pieces and at most one partial.
inline double vertex_optimum(const StepSeries& s, double from, double to, double d) {
  std::vector<std::pair<double, double>> pieces;
  for (std::size_t i = 0; i < s.g_per_kwh.size(); ++i) {
    const double a = std::max(from, s.times_unix_s[i]), b = std::min(to, s.times_unix_s[i + 1]);
    if (b > a && !std::isnan(s.g_per_kwh[i])) pieces.emplace_back(s.g_per_kwh[i], b - a);
  }
  const int m = static_cast<int>(pieces.size());
  EXPECT_LE(m, 16);
  double best = std::numeric_limits<double>::infinity();
  for (std::uint32_t mask = 0; mask < (1u << m); ++mask) {
    double len = 0.0, sum = 0.0;
    for (int i = 0; i < m; ++i) {
      if (mask & (1u << i)) len += pieces[i].second, sum += pieces[i].first * pieces[i].second;
    }
    if (std::abs(len - d) < 1e-9) best = std::min(best, sum);
    if (len >= d) continue;
    for (int f = 0; f < m; ++f) {
      if ((mask & (1u << f)) == 0 && pieces[f].second >= d - len) {
        best = std::min(best, sum + pieces[f].first * (d - len));
      }
    }
  }
  return best;
}

// Every plan the DP searches (src/plan/pause_resume_grid.cpp): its piece ends all lie on the slot
// boundaries but at most one end anywhere; when the grid says so, A + m and B - m too, as the end
// of a first piece [A, A + m) and the start of a last piece [B - m, B) only. The time between
// consecutive candidate points is used whole or not at all, and what D still needs then comes from
// the start or the end of one unused stretch. Pieces (touching parts merged) >= min_run, on known
// values; cost = integral + pause cost (as g/kWh·s) per pause.
inline double lattice_optimum(const StepSeries& s, const PlanRequest& r, const plan_detail::SlotGrid& grid) {
  std::vector<double> points = grid.bounds;
  const double a = grid.bounds.front(), b = grid.bounds.back(), m = r.min_run_s;
  if (grid.min_run_ends) {
    if (grid.lead && a + m < b) points.push_back(a + m);
    if (grid.trail && b - m > a) points.push_back(b - m);
  }
  std::sort(points.begin(), points.end());
  points.erase(std::unique(points.begin(), points.end()), points.end());
  const int count = static_cast<int>(points.size()) - 1;
  EXPECT_LE(count, 18) << "too many stretches for the brute force";
  if (count > 18) return -std::numeric_limits<double>::infinity();
  const double tol = 1e-9 * std::max(1.0, r.duration_s), pause = r.pause_cost_g * 3600.0 * 1000.0 / r.power_w;
  std::vector<std::optional<double>> whole(count);
  for (int e = 0; e < count; ++e) whole[e] = direct_integral(s, points[e], points[e + 1]);
  double best = std::numeric_limits<double>::infinity();
  const auto consider = [&](std::vector<std::pair<double, double>> parts) {
    std::sort(parts.begin(), parts.end());
    std::vector<std::pair<double, double>> merged;
    double cost = 0.0;
    for (const auto& p : parts) {
      const auto piece = direct_integral(s, p.first, p.second);
      if (!piece) return;
      cost += *piece;
      if (!merged.empty() && std::abs(merged.back().second - p.first) <= tol) {
        merged.back().second = p.second;
      } else {
        merged.push_back(p);
      }
    }
    for (const auto& [from, to] : merged) {
      if (to - from < m - tol) return;
      if (!grid.min_run_ends) continue;
      const bool first_piece = grid.lead && from == a && to == a + m;
      const bool last_piece = grid.trail && from == b - m && to == b;
      if (grid.lead && ((from == a + m && !last_piece) || (to == a + m && !first_piece))) return;
      if (grid.trail && ((to == b - m && !first_piece) || (from == b - m && !last_piece))) return;
    }
    best = std::min(best, cost + pause * (static_cast<double>(merged.size()) - 1));
  };
  for (std::uint32_t mask = 0; mask < (1u << count); ++mask) {
    double used = 0.0;
    bool usable = true;
    std::vector<std::pair<double, double>> parts;
    for (int e = 0; e < count && usable; ++e) {
      if (!(mask & (1u << e))) continue;
      usable = whole[e].has_value();
      used += points[e + 1] - points[e];
      parts.emplace_back(points[e], points[e + 1]);
    }
    if (!usable || used > r.duration_s + tol) continue;
    if (used >= r.duration_s - tol) {
      consider(parts);
      continue;
    }
    const double need = r.duration_s - used;
    for (int e = 0; e < count; ++e) {
      if ((mask & (1u << e)) || points[e + 1] - points[e] <= need + tol) continue;
      parts.emplace_back(points[e], points[e] + need);
      consider(parts);
      parts.back() = {points[e + 1] - need, points[e + 1]};
      consider(parts);
      parts.pop_back();
    }
  }
  return best;
}

// Every plan whose piece ends lie on the grid A + i·q, exhaustively (a DP over the units with the
// time used and the current piece's length, capped at min_run, as its state). When the step
// boundaries, not-before, D, the maximum delay and min_run are all whole multiples of q from A, a
// plan that is optimal in continuous time lies on this grid (pause_resume_grid.cpp's argument), so
// this is the exact optimum. +inf when no plan fits.
inline double fine_grid_optimum(const StepSeries& s, const PlanRequest& r, double q) {
  const double a = std::max(r.not_before_unix_s, s.times_unix_s.front());
  const double b = std::min(r.not_before_unix_s + r.duration_s + r.window_s, s.times_unix_s.back());
  const int units = static_cast<int>(std::floor((b - a) / q + 1e-9));
  const int target = static_cast<int>(std::lround(r.duration_s / q));
  EXPECT_NEAR(target * q, r.duration_s, 1e-6) << "D must be a whole number of units";
  const int cap = std::max(1, static_cast<int>(std::ceil(r.min_run_s / q - 1e-9)));
  const double pause = r.pause_cost_g * 3600.0 * 1000.0 / r.power_w;
  constexpr double inf = std::numeric_limits<double>::infinity();
  const auto at = [&](int j, int run) { return static_cast<std::size_t>(j) * (cap + 1) + run; };
  std::vector<double> f((target + 1) * (cap + 1), inf), next(f.size(), inf);
  f[at(0, 0)] = -pause;
  for (int i = 0; i < units; ++i) {
    const auto c = direct_integral(s, a + i * q, a + (i + 1) * q);
    std::fill(next.begin(), next.end(), inf);
    for (int j = 0; j <= target; ++j) {
      for (int run = 0; run <= cap; ++run) {
        const double v = f[at(j, run)];
        if (v == inf) continue;
        if (run == 0 || run == cap) next[at(j, 0)] = std::min(next[at(j, 0)], v);  // a gap
        if (c && j < target) {
          const double add = run == 0 ? pause + *c : *c;
          double& to = next[at(j + 1, std::min(run + 1, cap))];
          to = std::min(to, v + add);
        }
      }
    }
    f.swap(next);
  }
  return std::min(f[at(target, 0)], f[at(target, cap)]);
}

}  // namespace carbonmeter::plan_test
