// One self-contained HTML page for a run report (no network, no script): inline SVG charts of
// power over time stacked by component, intensity over time, cumulative emissions, the everyday
// equivalents, and a footer naming the data sources (intensity, equivalents, embodied figures) and
// the carbonmeter version. Never throws: a field of the wrong type or missing is left out.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace carbonmeter {

std::string html_report(const nlohmann::json& run);

}  // namespace carbonmeter
