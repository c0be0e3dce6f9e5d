// Turns successive raw readings of a hardware energy counter into non-negative energy deltas,
// handling wraparound (the counter passes its maximum and restarts at 0) and resets (the counter
// jumps back for another reason: driver reload, firmware, a hot-plugged socket).
#pragma once

#include <cstdint>
#include <optional>

namespace carbonmeter {

// glitch: a reading no real counter can give (beyond the range, or more energy than max_power_w
// allows in the time elapsed): nothing is counted for that interval.
enum class CounterEvent { none, first, wrap, reset, glitch };

struct CounterDelta {
  double energy_j = 0.0;
  CounterEvent event = CounterEvent::none;
};

class EnergyCounter {
 public:
  // joules_per_unit: the counter's unit (1e-6 for powercap's µJ). max_raw: the largest value
  // the counter takes before wrapping (max_energy_range_uj, or 2^32-1 for a 32-bit MSR).
  // max_power_w: no plausible reading exceeds this; a jump back that would imply more power than
  // this after a wrap is treated as a reset.
  EnergyCounter(double joules_per_unit, std::uint64_t max_raw, double max_power_w);

  // The energy since the previous reading; the first reading gives 0 (event first). elapsed_s is
  // the time since the previous call (of update or missed).
  CounterDelta update(std::uint64_t raw, double elapsed_s);
  // A read that failed: its time counts towards the next update's plausibility check.
  void missed(double elapsed_s) { unread_s_ += elapsed_s; }

  // How long the counter takes to wrap at max_power_w, i.e. the longest safe sampling period is
  // half of this.
  double shortest_wrap_time_s() const;

 private:
  double joules_per_unit_;
  std::uint64_t max_raw_;
  double max_power_w_;
  std::optional<std::uint64_t> previous_;
  double unread_s_ = 0.0;
};

}  // namespace carbonmeter
