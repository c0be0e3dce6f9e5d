// A small RFC 4180 CSV reader (quoted fields, doubled quotes, CRLF, a UTF-8 BOM) for shipped
// data and user files. Errors name the file and line.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <span>
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

// Visits the records of a CSV text as parse_csv reads them, in place: visit(fields, line) gets the
// header first, then each row with its 1-based line; blank lines are skipped; it returns false to
// stop early. The fields are views, valid during the call: into the text, or, for a quoted field
// holding "" or text after its closing quote, into a copy rebuilt for the record.
using CsvRecordVisitor = std::function<bool(std::span<const std::string_view> fields, int line)>;
Status visit_csv(std::string_view text, const std::string& source_name, const CsvRecordVisitor& visit);
// The same for a file, which is mapped rather than copied.
Status visit_csv_file(const std::string& path, const CsvRecordVisitor& visit);

// A cell that holds a finite number, spaces around it allowed; nothing for "", "12 W", "nan", "inf"
// or a number beyond double's range. Data cells go through this, so that no NaN or infinity reaches
// an integer cast.
std::optional<double> parse_finite_number(std::string_view cell);

// Reads a two-column `metric,value` file into a map.
Result<std::map<std::string, double>> read_metric_file(const std::string& path);

}  // namespace carbonmeter
