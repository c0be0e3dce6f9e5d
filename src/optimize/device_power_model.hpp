// A model of how a GPU's energy and time change with its power limit, from one measurement at the
// current limit: what --dry-run chooses from when no profile was measured. An estimate: it assumes
// the dynamic power grows with the cube of the clock above a static floor, and that the work is
// bound by the clock; real workloads (memory-bound ones above all) lose less speed than it says.
#pragma once

#include <vector>

#include "carbonmeter/power_limit.hpp"

namespace carbonmeter {

struct DevicePowerModel {
  double current_limit_w = 0.0;  // the limit the measurement was taken at (per GPU)
  double min_limit_w = 0.0;
  double max_limit_w = 0.0;
  int gpu_count = 1;
};

// Its relative uncertainty, said wherever its figures are shown.
inline constexpr double kDevicePowerModelUncertainty = 0.3;

// Predicted energy (J, all GPUs) and time (s) at each of limits_w, from `measured` (energy and
// time of the same steps at model.current_limit_w).
std::vector<PowerLimitMeasurement> model_power_limits(const DevicePowerModel& model,
                                                      const PowerLimitMeasurement& measured,
                                                      const std::vector<double>& limits_w);

}  // namespace carbonmeter
