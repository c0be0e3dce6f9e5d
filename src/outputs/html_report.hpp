// One self-contained HTML page for a run report (no network, no script): inline SVG charts of
// power over time stacked by component, intensity over time, cumulative emissions, and the
// everyday equivalents.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace carbonmeter {

std::string html_report(const nlohmann::json& run);

}  // namespace carbonmeter
