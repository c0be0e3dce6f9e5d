#include "optimize/device_power_model.hpp"

#include <algorithm>
#include <cmath>

namespace carbonmeter {
namespace {

// Drawing this much of the limit on average means the limit was holding the GPU back.
constexpr double kPowerBoundShare = 0.95;

}  // namespace

std::vector<PowerLimitMeasurement> model_power_limits(const DevicePowerModel& model,
                                                      const PowerLimitMeasurement& measured,
                                                      const std::vector<double>& limits_w) {
  const int gpus = std::max(model.gpu_count, 1);
  const double drawn_w = measured.time_s > 0 ? measured.energy_j / measured.time_s / gpus : 0.0;
  // What the GPU would draw unrestrained: what it drew, unless the current limit held it back, in
  // which case up to the highest limit (the optimistic end: more speed from more power).
  const double demand_w =
      drawn_w >= kPowerBoundShare * model.current_limit_w ? std::max(model.max_limit_w, drawn_w) : drawn_w;
  const double floor_w = std::min(0.2 * model.max_limit_w, 0.8 * model.min_limit_w);
  std::vector<PowerLimitMeasurement> out;
  for (double limit_w : limits_w) {
    PowerLimitMeasurement predicted{limit_w, measured.energy_j, measured.time_s};
    const double power_w = std::min(limit_w, demand_w);
    if (drawn_w > floor_w && power_w > floor_w && std::abs(power_w - drawn_w) > 1e-9) {
      const double clock_ratio = std::cbrt((power_w - floor_w) / (drawn_w - floor_w));
      predicted.time_s = measured.time_s / clock_ratio;
      predicted.energy_j = power_w * gpus * predicted.time_s;
    }
    out.push_back(predicted);
  }
  return out;
}

}  // namespace carbonmeter
