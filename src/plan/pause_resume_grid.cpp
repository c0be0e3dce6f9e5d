// Pause and Resume with a minimum run length m and/or a cost per pause: a DP on a slot grid that is
// exact in continuous time whenever the grid is fine enough.
//
// Why a grid can be exact. Fix the number of pieces and, for each piece end, the step it lies in:
// the cost is then linear in the piece ends, and the constraints (ends inside their steps and the
// span [A, B], ends in order, pieces >= m, lengths adding up to D) are linear too, so some optimal
// plan is a vertex of that polytope. A plan whose pieces touch merges them into fewer pieces at no
// more cost (one pause less), so take one with no touching pieces: at a vertex every piece end is
// then pinned to a step boundary, A or B, or lies m from the other end of its piece when that one
// is pinned, except at most one end that the total D fixes (two unpinned pieces, or one piece
// that can slide, would leave a direction to move in). So some optimal plan has all its piece
// ends in step boundaries ∪ (step boundaries ± m) ∪ {A, A + m, B - m, B}, but one.
//
// The grid (slot_grid). u = the gcd, in whole milliseconds, of m and the lengths of the steps
// between the step boundaries that lie strictly inside the span (B - A when there are neither),
// and the grid points are the step boundary t_a just after A plus whole multiples of u; its slot
// boundaries are A, the grid points strictly inside (A, B), and B. So the first slot [A, λ_1) and
// the last [λ_{K-1}, B) may be shorter than u (a "lead" and a "trail"); every other slot lasts u
// and has one intensity. With this u every point of the set above is a slot boundary except A + m
// and B - m (when A, resp. B, is off the grid points), which the DP takes as piece ends too.
// When that grid is too big for the DP (small_enough), u is the gcd of the step lengths alone,
// and when that too is too big, their median (or, with no whole step inside the span, of those
// it overlaps) times the smallest whole factor that makes it fit; then some step boundaries or
// some boundaries ± m may miss the grid (a slot may straddle a step boundary: its cost is still
// exact) and SlotGrid::exact is false.
//
// What the DP finds (best_grid_plan): the cheapest plan in which every piece end but at most one
// is a slot boundary, except that, when m > 0 is a whole number of slots and A or B is off the
// grid points (SlotGrid::min_run_ends), the first piece may also be [A, A + m) and the last
// [B - m, B); each piece lasts >= m and lies on known values inside [A, B]; cost = ∫ I dt over
// the pieces + pause_cost × (pieces - 1). (lattice_optimum in tests/plan/plan_reference.hpp
// enumerates exactly this set.) With SlotGrid::exact that is the optimum over all plans in
// continuous time. plan_pause_resume() then takes the better of it and the best uninterrupted run
// (exact in continuous time), so its answer is never worse than Flexible Start with the same
// window, nor than a known baseline.
//
// How. D - (the lead, if used whole) - (the trail, if used whole) = N·u + r, 0 <= r < u: a plan is
// the lead and the trail or not (up to four "combos", one DP each), N whole slots of u, and when
// r > 0 one more slot used for r seconds flush with its start (a prefix) or its end (a suffix).
// Each DP runs over slot boundaries k with j whole slots used so far and p = whether the partial
// slot is used yet, in two kinds of state:
//   E[p][k][j]: the time just before boundary k is not used (or k = 0): a piece may start at k;
//   R[p][k][j]: it is used by a piece that already lasts >= m: it may go on or end.
// A piece is committed with its first Lf = max(1, ceil(m / u)) whole slots at once, or with its
// partial slot and the Lp = ceil((m - r) / u) whole slots it then still needs, so no run-length
// counter is needed; every piece but the first pays the pause cost when it starts. The pieces that
// start at A with the whole lead, or [A, A + m), enter the table at the boundary where they end
// ("injections"); those that end at B with the whole trail, or [B - m, B), are added when the
// sweep passes the boundary they start from ("probes"). Time and memory O(K·N) per combo: the
// rows the transitions reach back to (Lf or Lp + 1 boundaries) stay in a ring, and one byte of
// decisions per (k, j) leads the way back.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "plan/plan_detail.hpp"

namespace carbonmeter::plan_detail {

namespace {

constexpr double kMaxCells = 2.5e6;  // (K + 1) × (N + 1) per combo: 2.5 MB of decisions; ring: 20 MB
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kTol = 1e-9;  // relative to u: times closer than this are the same

int floor_tol(double x) { return static_cast<int>(std::floor(x + kTol)); }
int ceil_tol(double x) { return static_cast<int>(std::ceil(x - kTol)); }

// Slots of u from the anchor (a step boundary inside (a, b)), cut at a and b; grid points within
// kTol·u of a step boundary take its exact value.
SlotGrid grid_with(const PreparedSeries& series, double u, double anchor, double a, double b,
                   double min_run) {
  SlotGrid grid;
  grid.slot_s = u;
  grid.bounds.push_back(a);
  const auto& t = series.times_unix_s();
  std::size_t i = static_cast<std::size_t>(std::lower_bound(t.begin(), t.end(), a) - t.begin());
  const double first = std::ceil((a - anchor) / u - kTol);
  for (double k = first;; k += 1) {
    double x = anchor + k * u;
    if (x >= b - kTol * u) break;
    if (x <= a + kTol * u) continue;
    while (i < t.size() && t[i] < x - kTol * u) ++i;
    if (i < t.size() && std::abs(t[i] - x) <= kTol * u) x = t[i];
    grid.bounds.push_back(x);
  }
  grid.bounds.push_back(b);
  const int slots = grid.slots();
  grid.lead = grid.bounds[1] - grid.bounds[0] < u * (1 - kTol);
  grid.trail = slots > 1 && grid.bounds[slots] - grid.bounds[slots - 1] < u * (1 - kTol);
  const double whole = min_run / u;
  grid.min_run_ends = min_run > 0 && std::abs(whole - std::round(whole)) <= kTol && (grid.lead || grid.trail);
  return grid;
}

// The DP's size for one combo: its decision table, and the doubles of the ring of rows it reaches
// back into.
bool small_enough(double u, double span, double duration, double min_run) {
  const double slots = span / u + 2, full = duration / u;
  const double lf = std::max(1.0, std::ceil(min_run / u - kTol));
  const double ring = 4 * (lf + 2) * (lf + 3 + full);
  return (slots + 1.0) * (full + 1.0) <= kMaxCells && ring <= kMaxCells;
}

// gcd of the lengths in whole milliseconds; 0 when one is not a whole number of them.
std::int64_t gcd_ms(const std::vector<double>& lengths) {
  std::int64_t g = 0;
  for (double length : lengths) {
    const double ms = std::round(length * 1000.0);
    if (std::abs(length * 1000.0 - ms) > 1e-3 || ms < 1) return 0;
    g = std::gcd(g, static_cast<std::int64_t>(ms));
  }
  return g;
}

}  // namespace

std::optional<SlotGrid> slot_grid(const PreparedSeries& series, const PlanRequest& request) {
  const auto& t = series.times_unix_s();
  const double a = std::max(request.not_before_unix_s, series.start_unix_s());
  const double b =
      std::min(request.not_before_unix_s + request.duration_s + request.window_s, series.end_unix_s());
  if (!(b - a >= request.duration_s)) return std::nullopt;
  // The step boundaries strictly inside (a, b): first..last - 1. None: one intensity over the
  // whole span, where one uninterrupted run is best.
  const std::size_t first = static_cast<std::size_t>(std::upper_bound(t.begin(), t.end(), a) - t.begin());
  const std::size_t last = static_cast<std::size_t>(std::lower_bound(t.begin(), t.end(), b) - t.begin());
  if (first >= last) return std::nullopt;
  const double anchor = t[first], m = request.min_run_s, d = request.duration_s;
  std::vector<double> lengths;
  for (std::size_t i = first; i + 1 < last; ++i) lengths.push_back(t[i + 1] - t[i]);

  // 1. Exact: u divides the step lengths and m.
  std::vector<double> with_m = lengths;
  if (m > 0) with_m.push_back(m);
  const std::int64_t exact_ms = with_m.empty() ? 0 : gcd_ms(with_m);
  const double exact_u = with_m.empty() ? b - a : exact_ms / 1000.0;
  if (exact_u > 0 && small_enough(exact_u, b - a, d, m)) {
    SlotGrid grid = grid_with(series, exact_u, anchor, a, b, m);
    grid.exact = true;
    return grid;
  }
  // 2. u divides the step lengths.
  if (!lengths.empty()) {
    if (const std::int64_t ms = gcd_ms(lengths); ms > 0 && small_enough(ms / 1000.0, b - a, d, m)) {
      return grid_with(series, ms / 1000.0, anchor, a, b, m);
    }
  }
  // 3. A multiple of the median step.
  if (lengths.empty()) {
    for (std::size_t i = series.step_at(a); i + 1 < t.size() && t[i] < b; ++i)
      lengths.push_back(t[i + 1] - t[i]);
  }
  std::nth_element(lengths.begin(), lengths.begin() + lengths.size() / 2, lengths.end());
  const double median = lengths[lengths.size() / 2];
  double factor = 1;
  while (!small_enough(median * factor, b - a, d, m)) factor += 1;
  return grid_with(series, median * factor, anchor, a, b, m);
}

namespace {

// What the DP of one combo shares with the others.
struct Shared {
  Shared(const PreparedSeries& s, const SlotGrid& g) : series(s), grid(g) {}
  const PreparedSeries& series;
  const SlotGrid& grid;
  double u = 0.0, duration = 0.0, min_run = 0.0, pause = 0.0;
  std::vector<double> cost;                  // each slot's integral, kInf where unknown
  std::vector<double> prefix;                // of the whole slots the sweep may use (not the lead or trail)
  std::vector<int> unusable_before;          // slots the sweep may not use whole, before k
  double run_cost(int from, int to) const {  // whole slots [from, to)
    return unusable_before[to] != unusable_before[from] ? kInf : prefix[to] - prefix[from];
  }
  double known_integral(double from, double to) const {
    return series.known(from, to) ? series.integral(from, to) : kInf;
  }
};

// ∫ I dt over [from, to) for spans whose ends only move forward, with cursors on the steps (the
// DP's slot costs: O(K + steps) in all instead of O(K log steps)); kInf where unknown.
class ForwardIntegral {
 public:
  explicit ForwardIntegral(const PreparedSeries& series)
      : series_(series), t_(series.times_unix_s()), last_(series.steps() - 1) {}
  double operator()(double from, double to) {
    hold(from_, from);
    to_ = std::max(to_, from_);
    hold(to_, to);
    const std::size_t last_overlapped = to_ > from_ && t_[to_] >= to ? to_ - 1 : to_;
    if (from < t_.front() || to > t_.back() || !series_.known_steps(from_, last_overlapped)) return kInf;
    return series_.integral_in_steps(from, from_, to, to_);
  }

 private:
  void hold(std::size_t& i, double x) const {  // the step holding x (the last one for the end)
    while (i < last_ && t_[i + 1] <= x) ++i;
  }
  const PreparedSeries& series_;
  const std::vector<double>& t_;
  std::size_t last_, from_ = 0, to_ = 0;
};

// A piece that starts at A (or a piece after [A, A + m)): written into cell (k, j) of state
// (partial, running) when the sweep reaches boundary k, if it is cheaper there.
struct Injection {
  int k = 0, j = 0;
  bool partial = false, running = false;
  double cost = kInf;
  std::vector<Interval> parts;
};

// A way to finish the plan from cell (k, j) of state (partial, running): the cell's value + extra.
struct Probe {
  int k = 0, j = 0;
  bool partial = false, running = false;
  double extra = kInf;
  std::vector<Interval> parts;
};

std::optional<GridPlan> best_in_combo(const Shared& s, bool lead_whole, bool trail_whole) {
  const SlotGrid& grid = s.grid;
  const auto& bounds = grid.bounds;
  const int slots = grid.slots();
  const double u = s.u, m = s.min_run, pause = s.pause;
  const double lead_s = grid.lead ? bounds[1] - bounds[0] : 0.0;
  const double trail_s = grid.trail ? bounds[slots] - bounds[slots - 1] : 0.0;
  double rest = s.duration - (lead_whole ? lead_s : 0.0) - (trail_whole ? trail_s : 0.0);
  if (rest < -kTol * u) return std::nullopt;
  rest = std::max(rest, 0.0);
  int full = floor_tol(rest / u);
  double r = rest - full * u;
  if (r < kTol * u) r = 0.0;
  const bool partial = r > 0;
  const int last = trail_whole ? slots - 1 : slots;  // the sweep's last boundary
  const double lead_cost = lead_whole ? s.cost[0] : kInf, trail_cost = trail_whole ? s.cost[slots - 1] : kInf;
  if ((lead_whole && !(lead_cost < kInf)) || (trail_whole && !(trail_cost < kInf))) return std::nullopt;
  if (full > last) return std::nullopt;

  // The partial slot's head [b_k, b_k + r) and tail [b_{k+1} - r, b_{k+1}).
  std::vector<double> head(slots, kInf), tail(slots, kInf);
  if (partial) {
    ForwardIntegral heads(s.series), tails(s.series);
    for (int k = 0; k < slots; ++k) {
      if (!(s.cost[k] < kInf) || bounds[k + 1] - bounds[k] < r - kTol * u) continue;
      head[k] = heads(bounds[k], std::min(bounds[k] + r, bounds[k + 1]));
      tail[k] = tails(std::max(bounds[k + 1] - r, bounds[k]), bounds[k + 1]);
    }
  }
  const auto head_part = [&](int k) { return Interval{bounds[k], std::min(bounds[k] + r, bounds[k + 1])}; };
  const auto tail_part = [&](int k) {
    return Interval{std::max(bounds[k + 1] - r, bounds[k]), bounds[k + 1]};
  };
  const int lf = std::max(1, ceil_tol(m / u));
  const int lp = partial ? std::max(0, ceil_tol((m - r) / u)) : 0;
  const int whole_m = grid.min_run_ends ? static_cast<int>(std::lround(m / u)) : 0;
  const double a = bounds[0], b = bounds[slots];

  std::vector<Injection> injections;
  std::vector<Probe> probes;
  if (lead_whole) {
    // The first piece: the lead and lf1 whole slots, or the lead, lp1 whole slots and a head.
    const int lf1 = std::max(0, ceil_tol((m - lead_s) / u));
    if (1 + lf1 <= last) {
      injections.push_back(
          {1 + lf1, lf1, false, true, lead_cost + s.run_cost(1, 1 + lf1), {{a, bounds[1 + lf1]}}});
    }
    if (partial) {
      const int lp1 = std::max(0, ceil_tol((m - lead_s - r) / u));
      if (lp1 < lf1 && 2 + lp1 <= last) {
        std::vector<Interval> parts = {{a, bounds[1 + lp1]}, head_part(1 + lp1)};
        injections.push_back({2 + lp1, lp1, true, false, lead_cost + s.run_cost(1, 1 + lp1) + head[1 + lp1],
                              std::move(parts)});
      }
    }
  } else if (grid.lead && whole_m > 0 && a + m < b) {
    // The first piece [A, A + m); the next one starts at a boundary after it, or with a tail.
    const double first = s.known_integral(a, a + m);
    const int k1 = static_cast<int>(std::lower_bound(bounds.begin(), bounds.end(), a + m) - bounds.begin());
    if (first < kInf && k1 <= last) {
      injections.push_back({k1, whole_m, false, false, first, {{a, a + m}}});
      if (partial && k1 >= 1 && bounds[k1] - r >= a + m && k1 + lp <= last) {
        std::vector<Interval> parts = {{a, a + m}, tail_part(k1 - 1), {bounds[k1], bounds[k1 + lp]}};
        injections.push_back({k1 + lp, whole_m + lp, true, true,
                              first + pause + tail[k1 - 1] + s.run_cost(k1, k1 + lp), std::move(parts)});
      }
    }
  }
  if (trail_whole) {
    // The last piece ends at B with the trail: it goes on from a running piece, or it starts with
    // lf2 whole slots, or with a tail and lp2 whole slots.
    const int end = slots - 1;
    probes.push_back({end, full, partial, true, trail_cost, {{bounds[end], b}}});
    const int lf2 = std::max(0, ceil_tol((m - trail_s) / u));
    if (end - lf2 >= 0 && full - lf2 >= 0) {
      probes.push_back({end - lf2,
                        full - lf2,
                        partial,
                        false,
                        pause + s.run_cost(end - lf2, end) + trail_cost,
                        {{bounds[end - lf2], b}}});
    }
    if (partial) {
      const int lp2 = std::max(0, ceil_tol((m - trail_s - r) / u));
      const int src = end - 1 - lp2;
      if (src >= 0 && full - lp2 >= 0) {
        const double extra = pause + tail[src] + s.run_cost(src + 1, end) + trail_cost;
        std::vector<Interval> parts = {tail_part(src), {bounds[src + 1], b}};
        probes.push_back({src, full - lp2, false, false, extra, parts});
        probes.push_back({src, full - lp2, false, true, extra, std::move(parts)});
      }
    }
  } else {
    probes.push_back({slots, full, partial, false, 0.0, {}});
    probes.push_back({slots, full, partial, true, 0.0, {}});
    if (grid.trail && whole_m > 0 && b - m > a && full - whole_m >= 0) {
      // The last piece [B - m, B), after a piece or a gap that ends by B - m.
      const double final_piece = s.known_integral(b - m, b);
      const int k2 =
          static_cast<int>(std::upper_bound(bounds.begin(), bounds.end(), b - m) - bounds.begin()) - 1;
      const int j2 = full - whole_m;
      if (final_piece < kInf) {
        probes.push_back({k2, j2, partial, false, pause + final_piece, {{b - m, b}}});
        probes.push_back({k2, j2, partial, true, pause + final_piece, {{b - m, b}}});
        if (partial && bounds[k2] + r <= b - m) {  // before it, a piece that ends with a head
          probes.push_back(
              {k2, j2, false, true, head[k2] + pause + final_piece, {head_part(k2), {b - m, b}}});
          if (lp < lf && k2 - lp >= 0 && j2 - lp >= 0) {
            probes.push_back({k2 - lp,
                              j2 - lp,
                              false,
                              false,
                              pause + s.run_cost(k2 - lp, k2) + head[k2] + pause + final_piece,
                              {{bounds[k2 - lp], bounds[k2]}, head_part(k2), {b - m, b}}});
          }
        }
      }
    }
  }

  // Rows of the ring: `pad` cells of kInf before j = 0 (so that j - lf and j - lp need no test),
  // then j = 0..full, then one more cell. Only the band of j that can still reach `full` is
  // computed; the transitions read a row only inside its band or at one past its end, which is
  // kept kInf. E0 at j = 0 (no piece yet) holds -pause: every piece start adds a pause, so the
  // first one's is free; with the whole lead the first piece is an injection instead.
  const int pad = std::max(lf, lp) + 1;
  const std::size_t width = static_cast<std::size_t>(pad) + full + 2;
  const int depth = std::max(lf, lp + 1) + 1;
  std::vector<double> e0(depth * width, kInf), r0(depth * width, kInf);
  std::vector<double> e1(partial ? depth * width : 0, kInf), r1(partial ? depth * width : 0, kInf);
  const std::size_t stride = static_cast<std::size_t>(full) + 1;
  std::vector<std::uint8_t> decision((static_cast<std::size_t>(last) + 1) * stride, 0);
  const auto row = [&](int k) { return static_cast<std::size_t>(k % depth) * width + pad; };
  const auto band_low = [&](int k) { return std::max(0, full - (last - k)); };
  const auto band_high = [&](int k) { return std::min(k, full); };
  const auto cell = [&](int k, int j, bool p, bool running) -> double& {
    auto& table = p ? (running ? r1 : e1) : (running ? r0 : e0);
    return table[row(k) + j];
  };
  if (!lead_whole) e0[row(0)] = -pause;
  // Injections and probes at boundary k, once its row is complete.
  std::vector<char> won(injections.size(), 0);
  std::vector<double> value(probes.size(), kInf);
  const auto at_boundary = [&](int k) {
    for (std::size_t i = 0; i < injections.size(); ++i) {
      const Injection& in = injections[i];
      if (in.k != k || in.j < band_low(k) || in.j > band_high(k) || (in.partial && !partial)) continue;
      double& v = cell(k, in.j, in.partial, in.running);
      if (in.cost < v) v = in.cost, won[i] = 1;
    }
    for (std::size_t i = 0; i < probes.size(); ++i) {
      const Probe& probe = probes[i];
      if (probe.k != k || probe.j < band_low(k) || probe.j > band_high(k) || (probe.partial && !partial))
        continue;
      value[i] = cell(k, probe.j, probe.partial, probe.running) + probe.extra;
    }
  };
  at_boundary(0);

  for (int k = 1; k <= last; ++k) {
    const int slot = k - 1,
              src = k - 1 - lp;  // src: where a piece with the partial and lp whole slots starts
    const std::size_t now = row(k), before = row(k - 1);
    const std::size_t at_lf = k >= lf ? row(k - lf) : before, at_src = src >= 0 ? row(src) : before;
    const double lf_start = k >= lf ? pause + s.run_cost(k - lf, k) : kInf;
    const double head_start =
        partial && lp < lf && src >= 0 ? pause + s.run_cost(src, k - 1) + head[slot] : kInf;
    const double tail_start = partial && src >= 0 ? pause + tail[src] + s.run_cost(src + 1, k) : kInf;
    const double slot_cost = s.run_cost(slot, k), head_cost = head[slot];
    const int j_low = band_low(k), j_high = band_high(k);
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
    if (partial) {
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
    at_boundary(k);
  }

  std::size_t chosen = probes.size();
  for (std::size_t i = 0; i < probes.size(); ++i) {
    if (value[i] < kInf && (chosen == probes.size() || value[i] < value[chosen])) chosen = i;
  }
  if (chosen == probes.size()) return std::nullopt;
  const Probe* best = &probes[chosen];

  // The way back.
  std::vector<Interval> parts = best->parts;
  const auto whole = [&](int from, int to) {
    if (from < to) parts.emplace_back(bounds[from], bounds[to]);
  };
  int k = best->k, j = best->j;
  bool with_partial = best->partial, running = best->running;
  for (;;) {
    std::size_t injected = 0;
    while (injected < injections.size() &&
           !(won[injected] && injections[injected].k == k && injections[injected].j == j &&
             injections[injected].partial == with_partial && injections[injected].running == running)) {
      ++injected;
    }
    if (injected < injections.size()) {
      parts.insert(parts.end(), injections[injected].parts.begin(), injections[injected].parts.end());
      break;
    }
    if (k == 0) break;
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
          parts.push_back(head_part(k - 1));
          k -= 1, with_partial = false, running = true;
          break;
        default:
          parts.push_back(head_part(k - 1));
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
        parts.push_back(tail_part(from));
        whole(from + 1, k), k = from, j -= lp, with_partial = false, running = d2 == 3;
      }
    }
  }
  return GridPlan{merge_touching(std::move(parts)), value[chosen]};
}

}  // namespace

std::optional<GridPlan> best_grid_plan(const PreparedSeries& series, const PlanRequest& request,
                                       const SlotGrid& grid) {
  const int slots = grid.slots();
  if (slots < 1) return std::nullopt;
  Shared shared(series, grid);
  shared.u = grid.slot_s;
  shared.duration = request.duration_s;
  shared.min_run = request.min_run_s;
  shared.pause = pause_cost_integral(request);
  shared.cost.assign(slots, kInf);
  shared.prefix.assign(slots + 1, 0.0);
  shared.unusable_before.assign(slots + 1, 0);
  ForwardIntegral integral(series);
  for (int k = 0; k < slots; ++k) {
    shared.cost[k] = integral(grid.bounds[k], grid.bounds[k + 1]);
    const bool sweep = shared.cost[k] < kInf && !(grid.lead && k == 0) && !(grid.trail && k == slots - 1);
    shared.prefix[k + 1] = shared.prefix[k] + (sweep ? shared.cost[k] : 0.0);
    shared.unusable_before[k + 1] = shared.unusable_before[k] + (sweep ? 0 : 1);
  }
  std::optional<GridPlan> best;
  for (const bool lead_whole : {false, true}) {
    if (lead_whole && !grid.lead) continue;
    for (const bool trail_whole : {false, true}) {
      if (trail_whole && !grid.trail) continue;
      auto plan = best_in_combo(shared, lead_whole, trail_whole);
      if (plan && (!best || better(plan->cost, best->cost))) best = std::move(plan);
    }
  }
  return best;
}

}  // namespace carbonmeter::plan_detail
