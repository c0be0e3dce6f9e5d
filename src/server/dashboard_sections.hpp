// Parts that several dashboard pages show: the totals as cards and the everyday equivalents.
#pragma once

#include <string>

#include "server/storage.hpp"

namespace carbonmeter::server::dashboard {

// Energy (all, then CPU, RAM, GPU), emissions, runs (when show_runs) and samples, as cards with
// ids total-energy, total-emissions, total-runs, total-samples.
std::string totals_cards(const Totals& totals, bool show_runs);

// "About as much CO2e as: 27.5 km driven by an average car, ..." and the table with the factors'
// sources (data/equivalents.csv); "" when the file is missing.
std::string equivalents_section(double emissions_g);

}  // namespace carbonmeter::server::dashboard
