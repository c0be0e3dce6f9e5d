// emissions.csv, appended per run: CodeCarbon's 38 columns first (same names, order and units),
// then carbonmeter's own. A file CodeCarbon wrote gets rows of its own 38 columns, so that it stays
// readable by CodeCarbon and pandas; a file with any other header is kept as a backup, never
// overwritten.
#pragma once

#include <string>
#include <vector>

#include "carbon/emissions.hpp"
#include "core/run_report.hpp"

namespace carbonmeter {

const std::vector<std::string>& codecarbon_columns();
const std::vector<std::string>& emissions_csv_columns();  // CodeCarbon's, then ours

struct CsvAppendOutcome {
  std::string path;
  std::string backup;              // where an incompatible file went, or ""
  bool codecarbon_layout = false;  // appended to a CodeCarbon file with its 38 columns
};

Result<CsvAppendOutcome> append_emissions_csv(const std::string& dir, const RunReport& report,
                                              const CarbonAccount& account, const ResolvedLocation& location);

}  // namespace carbonmeter
