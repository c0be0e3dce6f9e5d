// The location options shared by the commands that turn energy into emissions.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

#include "carbon/location.hpp"

namespace carbonmeter::cli {

struct LocationFlags {
  double carbon_intensity = -1;
  std::string intensity_series;
  std::string cloud;
  std::string zone;
  std::string country;
  double pue = -1;
  double wue = -1;
  bool marginal = false;
};

void add_location_options(CLI::App& command, LocationFlags& flags);
// Flags, then CARBONMETER_* variables, then carbonmeter.toml; resolved against the shipped data.
// Throws UsageError / FatalError with one clear line.
ResolvedLocation resolve_location_flags(const LocationFlags& flags);

}  // namespace carbonmeter::cli
