// A small RFC 4180 CSV reader (quoted fields, doubled quotes, CRLF, a UTF-8 BOM) for shipped
// data and user files. Errors name the file and line.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "carbonmeter/result.hpp"

namespace carbonmeter {

struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<int> row_line;  // 1-based line of each row, for messages
  // The column's index, or -1.
  int column(std::string_view name) const;
};

Result<CsvTable> parse_csv(std::string_view text, const std::string& source_name);
Result<CsvTable> read_csv_file(const std::string& path);

// Reads a two-column `metric,value` file into a map.
Result<std::map<std::string, double>> read_metric_file(const std::string& path);

}  // namespace carbonmeter
