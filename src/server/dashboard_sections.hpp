// Parts that several dashboard pages show: the totals as cards and the everyday equivalents, and
// the sum of groups of totals they are read from.
#pragma once

#include <string>
#include <vector>

#include "server/storage.hpp"

namespace carbonmeter::server::dashboard {

// The groups' energies, emissions, runs and samples added up (key ""): a project's totals from
// its totals by experiment.
Totals sum_of(const std::vector<Totals>& groups);

// Energy (all, then CPU, RAM, GPU), emissions, runs (when show_runs) and samples, as cards with
// ids total-energy, total-emissions, total-runs, total-samples, and a note (id totals-method) on
// how the energy and the emissions were obtained.
std::string totals_cards(const Totals& totals, bool show_runs);

// "About as much CO2e as: 27.5 km driven by an average car, ..." and the table with the factors'
// sources (data/equivalents.csv); "" when the file is missing.
std::string equivalents_section(double emissions_g);

}  // namespace carbonmeter::server::dashboard
