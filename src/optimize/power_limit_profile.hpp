// Power-limit profiles as JSON in Zeus' format: {"measurements": [{"power_limit", "energy",
// "time"}]}, energy in J and time in s over the same profiled steps at each limit.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "carbonmeter/power_limit.hpp"
#include "carbonmeter/result.hpp"

namespace carbonmeter {

struct PowerLimitProfile {
  std::vector<PowerLimitMeasurement> measurements;  // power_limit in the profile's unit
  bool milliwatts = false;                          // the unit: mW (older Zeus) or W
  double to_w(double power_limit) const { return milliwatts ? power_limit / 1000.0 : power_limit; }
  const char* unit() const { return milliwatts ? "mW" : "W"; }
  // The measurement at the highest limit (measurements must not be empty).
  const PowerLimitMeasurement& highest() const;
};

// A profile's unit, when it does not say: no GPU takes a limit above kLargestLimitW, so larger
// values are mW.
inline constexpr double kLargestLimitW = 2000.0;

// where: names the profile in errors. milliwatts: the unit when known, else guessed.
Result<PowerLimitProfile> parse_power_limit_profile(const std::string& text, const std::string& where,
                                                    std::optional<bool> milliwatts = std::nullopt);
Result<PowerLimitProfile> read_power_limit_profile(const std::string& path,
                                                   std::optional<bool> milliwatts = std::nullopt);
// Writes measurements (power_limit in W) to path, through a temporary file and a rename.
Status write_power_limit_profile(const std::string& path,
                                 const std::vector<PowerLimitMeasurement>& measurements_w);

}  // namespace carbonmeter
