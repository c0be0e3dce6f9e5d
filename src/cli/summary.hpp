// The human summary printed after a run (and by `report --recover`): duration, energy per
// component in J and kWh, average power, and the method and uncertainty behind each number.
#pragma once

#include <cstdio>
#include <string>

#include "carbon/emissions.hpp"
#include "core/run_report.hpp"

namespace carbonmeter {

std::string format_summary(const RunReport& report);
// The emissions lines of the summary: CO2e with its range and how the intensity was obtained,
// water, and a few everyday equivalents.
std::string format_emissions(const CarbonAccount& account, const ResolvedLocation& location);
std::string format_energy_j(double energy_j);
// Writes the JSON report atomically (temporary file + rename); the error says what to do.
Status write_report_json(const RunReport& report, const std::string& path);
Status write_json_file(const nlohmann::json& json, const std::string& path);

}  // namespace carbonmeter
