#include "core/csv.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

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
      // (A plain loop: find_first_of calls memchr on the three delimiters for every character.)
      std::size_t stop = i;
      while (stop < text.size() && text[stop] != ',' && text[stop] != '\r' && text[stop] != '\n') ++stop;
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

Result<bool> visit_unquoted_csv(std::string_view text, const std::string& source_name,
                                const CsvRecordVisitor& visit) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  if (text.find('"') != std::string_view::npos) return false;
  std::vector<std::string_view> fields;
  bool header_seen = false;
  int line = 1;
  std::size_t pos = 0;
  while (pos < text.size()) {
    // The line ends at the first \n or \r: two vectorised memchr (find_first_of would call memchr on
    // the delimiters for every character).
    const void* newline = std::memchr(text.data() + pos, '\n', text.size() - pos);
    std::size_t end =
        newline ? static_cast<std::size_t>(static_cast<const char*>(newline) - text.data()) : text.size();
    if (const void* cr = std::memchr(text.data() + pos, '\r', end - pos))
      end = static_cast<std::size_t>(static_cast<const char*>(cr) - text.data());
    const std::string_view record = text.substr(pos, end - pos);
    const int record_line = line;
    pos = end + (end + 1 < text.size() && text[end] == '\r' && text[end + 1] == '\n' ? 2 : 1);
    ++line;
    if (record.empty()) continue;  // a blank line
    fields.clear();
    for (std::size_t start = 0;;) {
      const std::size_t comma = record.find(',', start);
      fields.push_back(
          record.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    header_seen = true;
    if (!visit(fields, record_line)) return true;
  }
  if (!header_seen) return Error{source_name + ": empty file, expected a header line"};
  return true;
}

Result<bool> visit_unquoted_csv_file(const std::string& path, const CsvRecordVisitor& visit) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return Error{"cannot read " + path + ": " + std::strerror(errno)};
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    return Error{"cannot read " + path + ": not a regular file"};
  }
  const auto size = static_cast<std::size_t>(info.st_size);
  // Mapped, not read: no copy and no fresh pages to fault in (this is on the start-up path).
  void* mapped = size ? ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0) : MAP_FAILED;
  ::close(fd);
  if (mapped == MAP_FAILED) {
    auto text = read_text_file(path);
    if (!text) return text.error();
    return visit_unquoted_csv(text.value(), path, visit);
  }
  auto result = visit_unquoted_csv(std::string_view(static_cast<const char*>(mapped), size), path, visit);
  ::munmap(mapped, size);
  return result;
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
