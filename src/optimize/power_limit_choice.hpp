// Choosing a power limit from a profile, for an objective (carbonmeter/power_limit.hpp).
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "carbonmeter/power_limit.hpp"
#include "carbonmeter/result.hpp"
#include "optimize/power_limit_profile.hpp"

namespace carbonmeter {

struct PowerLimitChoice {
  std::size_t index = 0;  // into the profile's measurements
  double cost = 0.0;      // the objective's value there
  // Per measurement; nullopt where max_slowdown excludes it (too slow).
  std::vector<std::optional<double>> costs;
  const char* cost_unit = "J";  // "J" (eta, energy, max_slowdown) or "s" (time)
  // The choice against the highest limit: −0.15 = 15 % less.
  double energy_change = 0.0;
  double time_change = 0.0;
};

// gpu_count: how many GPUs the profile's energy covers (P_max of the eta cost is the highest limit
// in W times this). Ties go to the lower energy, then the lower limit.
Result<PowerLimitChoice> choose_power_limit(const PowerLimitProfile& profile,
                                            const PowerLimitObjective& objective, int gpu_count = 1);

}  // namespace carbonmeter
