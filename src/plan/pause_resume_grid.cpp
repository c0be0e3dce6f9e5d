// Pause and Resume with a minimum run length and/or a cost per pause: an exact DP on a slot grid.
//
// What is searched (lattice_optimum in tests/plan/plan_reference.hpp enumerates exactly this set):
//   The grid (slot_grid): slots of u seconds, slot k = [λ0 + k·u, λ0 + (k+1)·u) for k = 0..K-1,
//   all inside the span [A, B] = [not_before, not_before + D + max_delay] ∩ the series. u is the
//   gcd of the lengths of the steps that lie inside the span (in whole milliseconds), and λ0 the
//   first point of t_a - m·u that is >= A (t_a: the first step boundary >= A, or A if none lies in
//   the span), so every step boundary in the span is a slot boundary and every slot has one
//   intensity. When those lengths have no such gcd, or it would make the DP too big
//   (small_enough), u is their median (or, when no step lies wholly inside the span, the median
//   of the steps it overlaps; a slot may then straddle a step boundary: its cost is still exact),
//   times the smallest whole factor that makes the DP small enough. D = N·u + r, 0 <= r < u.
//   A plan: N whole slots and, when r > 0, one other slot used for r seconds flush with its start
//   (a prefix) or with its end (a suffix); every slot it uses, wholly or partly, lies on known
//   values. Its pieces are the maximal unions of touching used parts; each lasts >= min_run_s.
//   Cost: ∫ I dt over the used parts + pause_cost × (pieces - 1).
// The DP finds the cheapest such plan exactly. plan_pause_resume() then takes the better of it and
// the best uninterrupted run anywhere in the span (exact in continuous time, not bound to the
// grid), so its answer is never worse than Flexible Start with the same window, nor than the
// baseline. Not searched: plans in which more than one piece end lies off the grid (for instance
// one that starts at not_before, when that is not a slot boundary, and pauses later).
//
// The DP runs over slot boundaries k = 0..K with j whole slots used so far and p = whether the
// partial slot is used yet, in two kinds of state:
//   E[p][k][j]: the time just before boundary k is not used (or k = 0): a piece may start at k;
//   R[p][k][j]: it is used by a piece that already lasts >= min_run_s: it may go on or end.
// A piece is committed with its first Lf = max(1, ceil(min_run / u)) whole slots at once, or with
// its partial slot and the Lp = ceil((min_run - r) / u) whole slots it then still needs, so no
// run-length counter is needed; every piece but the first pays the pause cost when it starts.
// Time and memory O(K·N): the rows the transitions reach back to (Lf or Lp + 1 boundaries) stay in
// a ring, and one byte of decisions per (k, j) leads the way back.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "plan/plan_detail.hpp"

namespace carbonmeter::plan_detail {

namespace {

constexpr double kMaxCells = 2.5e6;  // (K + 1) × (N + 1): 2.5 MB of decisions, a few ms; ring: 20 MB
constexpr double kInf = std::numeric_limits<double>::infinity();

int floor_tol(double x) { return static_cast<int>(std::floor(x + 1e-9)); }
int ceil_tol(double x) { return static_cast<int>(std::ceil(x - 1e-9)); }

SlotGrid grid_with(double u, double anchor, double a, double b, double duration) {
  SlotGrid grid;
  grid.slot_s = u;
  grid.first_unix_s = anchor - std::max(0, floor_tol((anchor - a) / u)) * u;
  if (grid.first_unix_s < a) grid.first_unix_s += u;
  grid.slots = std::max(0, floor_tol((b - grid.first_unix_s) / u));
  while (grid.slots > 0 && grid.slot_start(grid.slots) > b) --grid.slots;
  grid.full_slots = floor_tol(duration / u);
  grid.remainder_s = duration - grid.full_slots * u;
  if (grid.remainder_s < 1e-9 * u) grid.remainder_s = 0.0;
  return grid;
}

// The DP's size: its decision table, and the doubles of the ring of rows it reaches back into.
bool small_enough(const SlotGrid& grid, double min_run_s) {
  const double lf = std::max(1, ceil_tol(min_run_s / grid.slot_s));
  const double ring = 4 * (lf + 2) * (lf + 3 + grid.full_slots);
  return (grid.slots + 1.0) * (grid.full_slots + 1.0) <= kMaxCells && ring <= kMaxCells;
}

}  // namespace

std::optional<SlotGrid> slot_grid(const PreparedSeries& series, const PlanRequest& request) {
  const auto& t = series.times_unix_s();
  const double a = std::max(request.not_before_unix_s, series.start_unix_s());
  const double b =
      std::min(request.not_before_unix_s + request.duration_s + request.window_s, series.end_unix_s());
  if (!(b - a >= request.duration_s)) return std::nullopt;
  // The steps inside [a, b]: boundaries first..last.
  const std::size_t first = static_cast<std::size_t>(std::lower_bound(t.begin(), t.end(), a) - t.begin());
  const std::size_t last = static_cast<std::size_t>(std::upper_bound(t.begin(), t.end(), b) - t.begin());
  const double anchor = first < last ? t[first] : a;
  std::vector<double> lengths;
  std::int64_t gcd_ms = 0;
  bool whole_ms = true;
  for (std::size_t i = first; i + 1 < last; ++i) {
    const double length = t[i + 1] - t[i];
    lengths.push_back(length);
    const double ms = std::round(length * 1000.0);
    if (std::abs(length * 1000.0 - ms) > 1e-3 || ms < 1) whole_ms = false;
    if (whole_ms) gcd_ms = std::gcd(gcd_ms, static_cast<std::int64_t>(ms));
  }
  if (lengths.empty()) {  // no whole step in the span: the (one or two) steps it overlaps
    for (std::size_t i = series.step_at(a); i + 1 < t.size() && t[i] < b; ++i)
      lengths.push_back(t[i + 1] - t[i]);
    whole_ms = false;
  }
  std::nth_element(lengths.begin(), lengths.begin() + lengths.size() / 2, lengths.end());
  const double median = lengths[lengths.size() / 2];
  if (whole_ms && gcd_ms > 0) {
    const SlotGrid grid = grid_with(gcd_ms / 1000.0, anchor, a, b, request.duration_s);
    if (small_enough(grid, request.min_run_s)) return grid;
  }
  SlotGrid grid = grid_with(median, anchor, a, b, request.duration_s);
  for (double factor = 2; !small_enough(grid, request.min_run_s); factor += 1) {
    grid = grid_with(median * factor, anchor, a, b, request.duration_s);
  }
  return grid;
}

std::optional<GridPlan> best_grid_plan(const PreparedSeries& series, const PlanRequest& request,
                                       const SlotGrid& grid) {
  const int slots = grid.slots, full = grid.full_slots;
  const double r = grid.remainder_s;
  const bool partial = r > 0;
  if (full < 0 || slots < full + (partial ? 1 : 0)) return std::nullopt;

  // Slot costs (kInf: not usable), their prefix sums, and the partial slot's head and tail, with
  // cursors on the steps that only move forward.
  std::vector<double> cost(slots), prefix(slots + 1, 0.0), head(slots, kInf), tail(slots, kInf);
  std::vector<int> unusable_before(slots + 1, 0);
  const auto& t = series.times_unix_s();
  const std::size_t last_step = series.steps() - 1;
  const auto holding = [&](std::size_t& i, double x) {
    while (i < last_step && t[i + 1] <= x) ++i;
  };
  std::size_t at_from = series.step_at(grid.slot_start(0)), at_to = at_from, at_head = at_from,
              at_tail = at_from;
  for (int k = 0; k < slots; ++k) {
    const double from = grid.slot_start(k), to = grid.slot_start(k + 1);
    holding(at_from, from);
    at_to = std::max(at_to, at_from);
    while (at_to < last_step && t[at_to + 1] < to) ++at_to;  // the last step the slot overlaps
    const bool usable =
        from >= series.start_unix_s() && to <= series.end_unix_s() && series.known_steps(at_from, at_to);
    cost[k] = usable ? series.integral_in_steps(from, at_from, to, at_to) : kInf;
    prefix[k + 1] = prefix[k] + (usable ? cost[k] : 0.0);
    unusable_before[k + 1] = unusable_before[k] + (usable ? 0 : 1);
    if (usable && partial) {
      at_head = std::max(at_head, at_from);
      holding(at_head, from + r);
      head[k] = series.integral_in_steps(from, at_from, from + r, at_head);
      at_tail = std::max(at_tail, at_from);
      holding(at_tail, to - r);
      tail[k] = series.integral_in_steps(to - r, at_tail, to, at_to);
    }
  }
  const auto run_cost = [&](int from, int to) {  // whole slots [from, to)
    return unusable_before[to] != unusable_before[from] ? kInf : prefix[to] - prefix[from];
  };
  const double pause = pause_cost_integral(request);
  const int lf = std::max(1, ceil_tol(request.min_run_s / grid.slot_s));
  const int lp = partial ? std::max(0, ceil_tol((request.min_run_s - r) / grid.slot_s)) : 0;

  // Rows of the ring: `pad` cells of kInf before j = 0 (so that j - lf and j - lp need no test),
  // then j = 0..full, then one more cell. Only the band of j that can still reach `full` is
  // computed; the transitions read a row only inside its band or at one past its end, which is
  // kept kInf. E0 at j = 0 (no piece yet) holds -pause: every piece start adds a pause, so the
  // first one's is free.
  const int pad = std::max(lf, lp) + 1;
  const std::size_t width = static_cast<std::size_t>(pad) + full + 2;
  const int depth = std::max(lf, lp + 1) + 1;
  std::vector<double> e0(depth * width, kInf), r0(depth * width, kInf);
  std::vector<double> e1(partial ? depth * width : 0, kInf), r1(partial ? depth * width : 0, kInf);
  const std::size_t stride = static_cast<std::size_t>(full) + 1;
  std::vector<std::uint8_t> decision((static_cast<std::size_t>(slots) + 1) * stride, 0);
  const auto row = [&](int k) { return static_cast<std::size_t>(k % depth) * width + pad; };
  e0[row(0)] = -pause;

  for (int k = 1; k <= slots; ++k) {
    const int slot = k - 1,
              src = k - 1 - lp;  // src: where a piece with the partial and lp whole slots starts
    const std::size_t now = row(k), before = row(k - 1);
    const std::size_t at_lf = k >= lf ? row(k - lf) : before, at_src = src >= 0 ? row(src) : before;
    const double lf_start = k >= lf ? pause + run_cost(k - lf, k) : kInf;
    const double head_start =
        partial && lp < lf && src >= 0 ? pause + run_cost(src, k - 1) + head[slot] : kInf;
    const double tail_start = partial && src >= 0 ? pause + tail[src] + run_cost(src + 1, k) : kInf;
    const double slot_cost = cost[slot], head_cost = head[slot];
    const int j_low = std::max(0, full - (slots - k)), j_high = std::min(k, full);
    std::uint8_t* bits = &decision[static_cast<std::size_t>(k) * stride];
    {
      const double* e0_before = &e0[before];
      const double* r0_before = &r0[before];
      const double* e0_lf = &e0[at_lf] - lf;
      double* e0_now = &e0[now];
      double* r0_now = &r0[now];
      for (int j = j_low; j <= j_high; ++j) {
        // E0: slot k - 1 unused, after a gap or after a piece that ended at boundary k - 1.
        const double stay = e0_before[j], ended = r0_before[j];
        const bool from_run = ended < stay;
        e0_now[j] = from_run ? ended : stay;
        // R0: a piece goes on through slot k - 1, or starts with lf whole slots ending there.
        const double go_on = r0_before[j - 1] + slot_cost, start = e0_lf[j] + lf_start;
        const bool started = start < go_on;
        r0_now[j] = started ? start : go_on;
        bits[j] = static_cast<std::uint8_t>((from_run ? 1 : 0) | (started ? 2 : 0));
      }
      e0_now[j_high + 1] = r0_now[j_high + 1] = kInf;
    }
    if (!partial) continue;
    const double* r0_before = &r0[before];
    const double* e1_before = &e1[before];
    const double* r1_before = &r1[before];
    const double* e1_lf = &e1[at_lf] - lf;
    const double* e0_src = &e0[at_src] - lp;
    const double* r0_src = &r0[at_src] - lp;
    double* e1_now = &e1[now];
    double* r1_now = &r1[now];
    for (int j = j_low; j <= j_high; ++j) {
      // E1: as E0, or a piece ends with the head of slot k - 1: one that was long enough already
      // (R0), or a new one of lp whole slots and the head (only when lp < lf).
      double v = e1_before[j];
      int d1 = 0;
      const double c11 = r1_before[j], c12 = r0_before[j] + head_cost, c13 = e0_src[j] + head_start;
      d1 = c11 < v ? 1 : d1, v = c11 < v ? c11 : v;
      d1 = c12 < v ? 2 : d1, v = c12 < v ? c12 : v;
      d1 = c13 < v ? 3 : d1, v = c13 < v ? c13 : v;
      e1_now[j] = v;
      // R1: a piece goes on, starts with lf whole slots, or starts with the tail of slot src and
      // lp whole slots; before that tail the time is unused (E0) or a piece ended at boundary src
      // (R0: the unused head of slot src is the gap).
      double w = r1_before[j - 1] + slot_cost;
      int d2 = 0;
      const double c21 = e1_lf[j] + lf_start, c22 = e0_src[j] + tail_start, c23 = r0_src[j] + tail_start;
      d2 = c21 < w ? 1 : d2, w = c21 < w ? c21 : w;
      d2 = c22 < w ? 2 : d2, w = c22 < w ? c22 : w;
      d2 = c23 < w ? 3 : d2, w = c23 < w ? c23 : w;
      r1_now[j] = w;
      bits[j] = static_cast<std::uint8_t>(bits[j] | d1 << 2 | d2 << 4);
    }
    e1_now[j_high + 1] = r1_now[j_high + 1] = kInf;
  }

  const std::size_t end = row(slots) + full;
  const double end_e = partial ? e1[end] : e0[end], end_r = partial ? r1[end] : r0[end];
  const double best = std::min(end_e, end_r);
  if (!(best < kInf)) return std::nullopt;

  // The way back.
  std::vector<Interval> parts;
  const auto whole = [&](int from, int to) {
    for (int s = from; s < to; ++s) parts.emplace_back(grid.slot_start(s), grid.slot_start(s + 1));
  };
  int k = slots, j = full;
  bool with_partial = partial, running = end_r < end_e;
  while (k > 0) {
    const std::uint8_t bits = decision[static_cast<std::size_t>(k) * stride + j];
    if (!with_partial && !running) {
      running = (bits & 1) != 0;
      k -= 1;
    } else if (!with_partial) {
      if ((bits & 2) == 0) {
        whole(k - 1, k), k -= 1, j -= 1;
      } else {
        whole(k - lf, k), k -= lf, j -= lf, running = false;
      }
    } else if (!running) {
      switch ((bits >> 2) & 3) {
        case 0:
          k -= 1;
          break;
        case 1:
          k -= 1, running = true;
          break;
        case 2:
          parts.emplace_back(grid.slot_start(k - 1), grid.slot_start(k - 1) + r);
          k -= 1, with_partial = false, running = true;
          break;
        default:
          parts.emplace_back(grid.slot_start(k - 1), grid.slot_start(k - 1) + r);
          whole(k - 1 - lp, k - 1), k -= 1 + lp, j -= lp, with_partial = false, running = false;
      }
    } else {
      const int d2 = (bits >> 4) & 3;
      if (d2 == 0) {
        whole(k - 1, k), k -= 1, j -= 1;
      } else if (d2 == 1) {
        whole(k - lf, k), k -= lf, j -= lf, running = false;
      } else {
        const int from = k - 1 - lp;
        parts.emplace_back(grid.slot_start(from + 1) - r, grid.slot_start(from + 1));
        whole(from + 1, k), k = from, j -= lp, with_partial = false, running = d2 == 3;
      }
    }
  }
  return GridPlan{merge_touching(std::move(parts)), best};
}

}  // namespace carbonmeter::plan_detail
