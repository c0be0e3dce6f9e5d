// emissions.csv, appended per run: CodeCarbon's 38 columns first (same names, order and units),
// then carbonmeter's own. An existing file whose header names only known columns (CodeCarbon's,
// of any version, or ours, in any order) gets a row in its own column order, so that it stays
// readable by CodeCarbon and pandas; a file with any other header is kept as a backup, never
// overwritten, and a new file is started. Check-header-then-append runs under an exclusive flock
// on the file, so runs that end at once neither interleave nor both write a header.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "carbon/emissions.hpp"
#include "core/run_report.hpp"

namespace carbonmeter {

const std::vector<std::string>& codecarbon_columns();
const std::vector<std::string>& emissions_csv_columns();  // CodeCarbon's, then ours

struct CsvAppendOutcome {
  std::string path;
  std::string backup;                // where an incompatible file went, or ""
  bool codecarbon_layout = false;    // appended to an existing file in its own (not our full) layout
  std::vector<std::string> columns;  // the columns of the row written, in the file's order
};

// energy_relative_uncertainty holds account.energy_relative_uncertainty (the energy's alone, not
// combined with the intensity's). embodied_g: the run's embodied (manufacturing) emissions in grams when it
// has them
// (--embodied); written in kg to embodied_emissions_kg, which stays empty otherwise.
Result<CsvAppendOutcome> append_emissions_csv(const std::string& dir, const RunReport& report,
                                              const CarbonAccount& account, const ResolvedLocation& location,
                                              std::optional<double> embodied_g = std::nullopt);

}  // namespace carbonmeter
