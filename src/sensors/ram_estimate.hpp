// The RAM estimate, used when there is no dram RAPL domain: 0.3725 W per GB of memory in use
// (Green Algorithms' figure), with a wide uncertainty (see docs/methodology.md).
#pragma once

#include "sensors/sensor_status.hpp"

namespace carbonmeter {

inline constexpr double kRamWattsPerGb = 0.3725;
inline constexpr double kRamEstimateUncertainty = 0.5;

ProbeOutcome probe_ram_estimate();

}  // namespace carbonmeter
