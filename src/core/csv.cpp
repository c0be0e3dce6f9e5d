#include "core/csv.hpp"

#include <cstdlib>

#include "core/text_file.hpp"

namespace carbonmeter {

int CsvTable::column(std::string_view name) const {
  for (std::size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return static_cast<int>(i);
  return -1;
}

Result<CsvTable> parse_csv(std::string_view text, const std::string& source_name) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  CsvTable table;
  std::vector<std::string> record;
  std::string field;
  bool in_quotes = false;
  bool field_started = false;
  int line = 1;
  int record_line = 1;
  auto end_record = [&] {
    record.push_back(std::move(field));
    field.clear();
    bool blank = record.size() == 1 && record[0].empty();
    if (!blank) {
      if (table.header.empty()) {
        table.header = std::move(record);
      } else {
        table.rows.push_back(std::move(record));
        table.row_line.push_back(record_line);
      }
    }
    record.clear();
    field_started = false;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"' && !field_started) {
      in_quotes = true;
      field_started = true;
    } else if (c == ',') {
      record.push_back(std::move(field));
      field.clear();
      field_started = false;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      end_record();
      ++line;
      record_line = line;
    } else {
      // Copy the run of plain characters up to the next delimiter at once.
      const std::size_t end = text.find_first_of(",\r\n", i);
      const std::size_t stop = end == std::string_view::npos ? text.size() : end;
      field.append(text.substr(i, stop - i));
      field_started = true;
      i = stop - 1;
    }
  }
  if (in_quotes)
    return Error{source_name + ":" + std::to_string(record_line) + ": a quoted field is never closed"};
  if (!field.empty() || !record.empty()) end_record();
  if (table.header.empty()) return Error{source_name + ": empty file, expected a header line"};
  return table;
}

Result<CsvTable> read_csv_file(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) return text.error();
  return parse_csv(text.value(), path);
}

Result<std::map<std::string, double>> read_metric_file(const std::string& path) {
  auto table = read_csv_file(path);
  if (!table) return table.error();
  std::map<std::string, double> out;
  for (std::size_t i = 0; i < table.value().rows.size(); ++i) {
    const auto& row = table.value().rows[i];
    if (row.size() < 2) continue;
    char* end = nullptr;
    double value = std::strtod(row[1].c_str(), &end);
    if (end == row[1].c_str())
      return Error{path + ":" + std::to_string(table.value().row_line[i]) + ": '" + row[1] +
                   "' is not a number"};
    out[row[0]] = value;
  }
  return out;
}

}  // namespace carbonmeter
