// Energy becomes emissions: each sample's energy × PUE × the intensity in force during that
// sample (a series is integrated over the sample's interval, so a step inside a run splits it).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "carbon/location.hpp"
#include "carbonmeter/result.hpp"
#include "core/run_report.hpp"

namespace carbonmeter {

struct Equivalent {
  std::string item;
  std::string unit;
  double amount = 0.0;
  double g_co2e_per_unit = 0.0;
  std::string vintage;
  std::string source;
};

struct CarbonAccount {
  double it_energy_kwh = 0.0;  // what the sensors measured (attributed to the scope)
  double energy_kwh = 0.0;     // × PUE: what the facility drew for it
  double emissions_g = 0.0;
  double low_g = 0.0;
  double high_g = 0.0;
  double relative_uncertainty = 0.0;  // energy's and intensity's, combined in quadrature
  double energy_relative_uncertainty = 0.0;
  double intensity_relative_uncertainty = 0.0;
  double intensity_g_per_kwh = 0.0;  // effective: emissions / energy
  double intensity_min_g_per_kwh = 0.0;
  double intensity_max_g_per_kwh = 0.0;
  double uncovered_s = 0.0;         // time the series did not cover (no fallback given): no emissions counted
  double fallback_s = 0.0;          // time covered by the fallback figure
  double covered_energy_kwh = 0.0;  // with a series: the energy (× PUE) that had an intensity
  double water_l = 0.0;
  std::vector<double> sample_intensity_g_per_kwh;  // per report sample, for charts; NaN: not covered
  std::vector<double> sample_emissions_g;
  std::vector<Equivalent> equivalents;
};

// One sample's emissions: its energy × PUE × the intensity in force over its interval.
struct SampleCarbon {
  double emissions_g = 0.0;
  double intensity_g_per_kwh = 0.0;  // NaN: the series does not cover the sample (no fallback)
  double covered_energy_kwh = 0.0;   // × PUE, the part that had an intensity
  double fallback_s = 0.0;
  double uncovered_s = 0.0;
};
SampleCarbon sample_carbon(const Sample& sample, double run_start_unix_s, const ResolvedLocation& location);

// The emissions of the run; time a series does not cover (with no fallback) gets none and is
// counted in uncovered_s: see coverage_error.
Result<CarbonAccount> account_emissions(const RunReport& report, const ResolvedLocation& location);

// Set when a series did not cover the run and no fallback was given: the message says how much is
// missing and what to pass. The caller treats it as an error but keeps the covered part.
std::optional<std::string> coverage_error(const CarbonAccount& account, const ResolvedLocation& location);

// "27.5 km driven by car", "542 smartphone charges": an equivalent for a person to read.
std::string equivalent_phrase(const Equivalent& equivalent);

// The everyday equivalents of data/equivalents.csv for these emissions (empty when the file is
// missing).
std::vector<Equivalent> equivalents_of(double emissions_g);

// [{item, unit, amount, g_co2e_per_unit, vintage, source}]
nlohmann::json equivalents_json(const std::vector<Equivalent>& equivalents);

// The run report's carbon keys: emissions_g, emissions_range_g, intensity, water_l, pue,
// location, equivalents (docs/report.md).
nlohmann::json carbon_json(const CarbonAccount& account, const ResolvedLocation& location);

}  // namespace carbonmeter
