#include "core/energy_counter.hpp"

#include <algorithm>
#include <limits>

namespace carbonmeter {

EnergyCounter::EnergyCounter(double joules_per_unit, std::uint64_t max_raw, double max_power_w)
    : joules_per_unit_(joules_per_unit), max_raw_(max_raw), max_power_w_(max_power_w) {}

double EnergyCounter::shortest_wrap_time_s() const {
  if (max_raw_ == 0 || max_power_w_ <= 0) return std::numeric_limits<double>::infinity();
  return static_cast<double>(max_raw_) * joules_per_unit_ / max_power_w_;
}

CounterDelta EnergyCounter::update(std::uint64_t raw, double elapsed_s) {
  if (!previous_) {
    previous_ = raw;
    unread_s_ = 0.0;
    return {0.0, CounterEvent::first};
  }
  const double since_last_read_s = unread_s_ + (elapsed_s > 0 ? elapsed_s : 0.0);
  unread_s_ = 0.0;
  const std::uint64_t previous = *previous_;
  previous_ = raw;
  // Energy beyond what max_power_w can give in the time is not believed, with 10 % slack and a
  // floor of 1 % of the range for very short intervals and coarse timing.
  const double floor_j = std::max(1.0, 0.01 * static_cast<double>(max_raw_) * joules_per_unit_);
  const double plausible_j = max_power_w_ * since_last_read_s * 1.1 + floor_j;
  if (max_raw_ > 0 && raw > max_raw_) return {0.0, CounterEvent::glitch};
  if (raw >= previous) {
    const double delta_j = static_cast<double>(raw - previous) * joules_per_unit_;
    if (delta_j > plausible_j) return {0.0, CounterEvent::glitch};
    return {delta_j, CounterEvent::none};
  }
  // The counter went back: a wrap if the energy through the top of the range is plausible in the
  // elapsed time, otherwise a reset.
  if (max_raw_ >= previous) {
    // The counter takes max_raw_ + 1 values: after max_raw_ it reads 0.
    const double wrapped_j = (static_cast<double>(max_raw_ - previous + raw) + 1.0) * joules_per_unit_;
    if (wrapped_j <= plausible_j) return {wrapped_j, CounterEvent::wrap};
  }
  // After a reset the counter restarted from 0: what it holds now is energy since the reset,
  // when that is plausible; otherwise nothing can be known about this interval.
  const double since_reset_j = static_cast<double>(raw) * joules_per_unit_;
  return {since_reset_j <= plausible_j ? since_reset_j : 0.0, CounterEvent::reset};
}

}  // namespace carbonmeter
