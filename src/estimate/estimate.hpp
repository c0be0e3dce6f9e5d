// The calculator: emissions of a run that was not measured, from published power figures ×
// hours × intensity (the ML CO2 Impact calculator's and Green Algorithms' model), with the
// formula filled in, its uncertainty, and the same job elsewhere.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "carbon/emissions.hpp"
#include "carbon/location.hpp"
#include "carbonmeter/result.hpp"
#include "estimate/accelerator_table.hpp"
#include "sensors/cpu_tdp_table.hpp"

namespace carbonmeter {

// Green Algorithms: 0.3725 W per GB of memory, 12 W per core of an unknown CPU.
constexpr double kMemoryW_per_gb = 0.3725;
constexpr double kDefaultCoreW = 12.0;

struct EstimateInputs {
  std::optional<std::string> hardware;  // accelerator name
  int count = 1;
  std::optional<double> power_w;  // per accelerator, overrides the table
  std::optional<double> gpu_utilization;
  std::optional<std::string> cpu;
  std::optional<int> cores;
  std::optional<double> cpu_utilization;
  std::optional<double> memory_gb;
  std::optional<double> hours;
  std::optional<double> energy_kwh;  // IT energy (before PUE), instead of hardware × hours
  std::optional<double> start_unix_s;
};

// One line of the power budget.
struct PowerPart {
  std::string component;  // "accelerator", "cpu", "memory"
  std::string what;       // "4 × NVIDIA A100 SXM4 80GB"
  double unit_power_w = 0.0;
  double units = 0.0;  // devices, cores or GB
  double utilization = 1.0;
  double power_w = 0.0;  // units × unit power × utilisation
  std::string how;       // "TDP, curated: NVIDIA A100 datasheet", "--power-w"
  double relative_uncertainty = 0.0;
};

struct Alternative {
  std::string location;  // "gcp:europe-north1", "SWE"
  std::string name;
  double intensity_g_per_kwh = 0.0;
  double pue = 1.0;
  double emissions_kg = 0.0;
};

struct Estimate {
  std::vector<PowerPart> parts;
  double power_w = 0.0;  // IT power (0 when the energy was given)
  double hours = 0.0;    // 0 when only the energy was given
  double it_energy_kwh = 0.0;
  double energy_kwh = 0.0;  // × PUE
  double pue = 1.0;
  std::string pue_source;
  double intensity_g_per_kwh = 0.0;
  std::string intensity_how;
  double emissions_kg = 0.0;
  double low_kg = 0.0;
  double high_kg = 0.0;
  double energy_relative_uncertainty = 0.0;
  double intensity_relative_uncertainty = 0.0;
  double relative_uncertainty = 0.0;
  double water_l = 0.0;
  std::string formula;
  std::vector<std::string> notes;
  std::vector<Alternative> alternatives;  // lowest emissions first
  std::vector<Equivalent> equivalents;
};

// The power budget of the inputs (accelerators, CPU cores, memory); errors say what to fix.
Result<std::vector<PowerPart>> estimate_power(const EstimateInputs& inputs,
                                              const AcceleratorTable& accelerators, const CpuTdpTable& cpus);

Result<Estimate> estimate_emissions(const EstimateInputs& inputs, const ResolvedLocation& location,
                                    const ReferenceData& data, const AcceleratorTable& accelerators,
                                    const CpuTdpTable& cpus);

// The same IT energy in the provider's other regions (a cloud location) or in a few low- and
// high-carbon countries (elsewhere), lowest first.
std::vector<Alternative> alternatives_for(double it_energy_kwh, const ResolvedLocation& location,
                                          const ReferenceData& data);

nlohmann::json estimate_json(const Estimate& estimate);

}  // namespace carbonmeter
