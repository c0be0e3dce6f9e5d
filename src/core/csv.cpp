#include "core/csv.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <deque>

#include "core/text_file.hpp"

namespace carbonmeter {

int CsvTable::column(std::string_view name) const {
  for (std::size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return static_cast<int>(i);
  return -1;
}

namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

bool is_delimiter(char c) { return c == ',' || c == '\r' || c == '\n'; }

std::size_t end_of_plain_run(std::string_view text, std::size_t from) {
  while (from < text.size() && !is_delimiter(text[from])) ++from;
  return from;
}

// The fields of one line without a quote, split in place.
void split_plain_record(std::string_view record, std::vector<std::string_view>& fields) {
  for (std::size_t start = 0;;) {
    const std::size_t comma = record.find(',', start);
    fields.push_back(
        record.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (comma == std::string_view::npos) return;
    start = comma + 1;
  }
}

// Reads the record at pos that holds a quote, field by field (RFC 4180: a field that starts with a
// quote runs to the next lone quote, across line ends, "" standing for one quote; text after the
// closing quote is kept). Fields are views into the text, or into `rebuilt` when a field had to be
// rebuilt. Leaves pos after the record's line end and counts the lines it crossed; false when a
// quoted field is never closed.
bool read_quoted_record(std::string_view text, std::size_t& pos, int& line,
                        std::vector<std::string_view>& fields, std::deque<std::string>& rebuilt) {
  for (;;) {
    std::string_view field;
    if (pos < text.size() && text[pos] == '"') {
      std::size_t segment = pos + 1, i = segment;
      std::string* built = nullptr;
      for (;; ++i) {
        if (i >= text.size()) return false;
        if (text[i] == '\n') ++line;
        if (text[i] != '"') continue;
        if (i + 1 < text.size() && text[i + 1] == '"') {
          if (!built) built = &rebuilt.emplace_back();
          built->append(text.substr(segment, i + 1 - segment));
          segment = ++i + 1;
          continue;
        }
        break;
      }
      const std::size_t after = i + 1, stop = end_of_plain_run(text, after);
      if (built || stop > after) {
        if (!built) built = &rebuilt.emplace_back();
        built->append(text.substr(segment, i - segment));
        built->append(text.substr(after, stop - after));
        field = *built;
      } else {
        field = text.substr(segment, i - segment);
      }
      pos = stop;
    } else {
      const std::size_t stop = end_of_plain_run(text, pos);
      field = text.substr(pos, stop - pos);
      pos = stop;
    }
    fields.push_back(field);
    if (pos >= text.size()) return true;
    if (text[pos] == ',') {
      if (++pos == text.size()) {  // a last, empty field
        fields.emplace_back();
        return true;
      }
      continue;
    }
    pos += text[pos] == '\r' && pos + 1 < text.size() && text[pos + 1] == '\n' ? 2 : 1;
    ++line;
    return true;
  }
}

// Maps the file (no copy, and no fresh pages to fault in: this is on the start-up path) and hands
// its text to `use`; reads it when it cannot be mapped.
template <class Use>
auto with_file_text(const std::string& path, Use use) -> decltype(use(std::string_view())) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return Error{"cannot read " + path + ": " + std::strerror(errno)};
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    return Error{"cannot read " + path + ": not a regular file"};
  }
  const auto size = static_cast<std::size_t>(info.st_size);
  void* mapped = size ? ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0) : MAP_FAILED;
  ::close(fd);
  if (mapped == MAP_FAILED) {
    auto text = read_text_file(path);
    if (!text) return text.error();
    return use(std::string_view(text.value()));
  }
  auto result = use(std::string_view(static_cast<const char*>(mapped), size));
  ::munmap(mapped, size);
  return result;
}

}  // namespace

Status visit_csv(std::string_view text, const std::string& source_name, const CsvRecordVisitor& visit) {
  if (text.substr(0, kUtf8Bom.size()) == kUtf8Bom) text.remove_prefix(kUtf8Bom.size());
  std::vector<std::string_view> fields;
  std::deque<std::string> rebuilt;
  bool header_seen = false;
  int line = 1;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const int record_line = line;
    fields.clear();
    rebuilt.clear();
    // The line ends at the first \n or \r: vectorised memchr, as most records hold no quote.
    const void* newline = std::memchr(text.data() + pos, '\n', text.size() - pos);
    std::size_t end =
        newline ? static_cast<std::size_t>(static_cast<const char*>(newline) - text.data()) : text.size();
    if (const void* cr = std::memchr(text.data() + pos, '\r', end - pos))
      end = static_cast<std::size_t>(static_cast<const char*>(cr) - text.data());
    if (std::memchr(text.data() + pos, '"', end - pos) == nullptr) {
      const std::string_view record = text.substr(pos, end - pos);
      pos = end + (end + 1 < text.size() && text[end] == '\r' && text[end + 1] == '\n' ? 2 : 1);
      ++line;
      if (record.empty()) continue;  // a blank line
      split_plain_record(record, fields);
    } else if (!read_quoted_record(text, pos, line, fields, rebuilt)) {
      return Error{source_name + ":" + std::to_string(record_line) + ": a quoted field is never closed"};
    }
    if (fields.size() == 1 && fields[0].empty()) continue;  // a blank line, or one empty quoted field
    header_seen = true;
    if (!visit(fields, record_line)) return Ok{};
  }
  if (!header_seen) return Error{source_name + ": empty file, expected a header line"};
  return Ok{};
}

Status visit_csv_file(const std::string& path, const CsvRecordVisitor& visit) {
  return with_file_text(path, [&](std::string_view text) { return visit_csv(text, path, visit); });
}

Result<CsvTable> parse_csv(std::string_view text, const std::string& source_name) {
  CsvTable table;
  bool header_seen = false;
  auto visited = visit_csv(text, source_name, [&](std::span<const std::string_view> fields, int line) {
    std::vector<std::string> record(fields.begin(), fields.end());
    if (!header_seen) {
      table.header = std::move(record);
      header_seen = true;
    } else {
      table.rows.push_back(std::move(record));
      table.row_line.push_back(line);
    }
    return true;
  });
  if (!visited) return visited.error();
  return table;
}

Result<CsvTable> read_csv_file(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) return text.error();
  return parse_csv(text.value(), path);
}

std::optional<double> parse_finite_number(std::string_view cell) {
  while (!cell.empty() && cell.front() == ' ') cell.remove_prefix(1);
  while (!cell.empty() && cell.back() == ' ') cell.remove_suffix(1);
  double value = 0;
  const auto [end, error] = std::from_chars(cell.data(), cell.data() + cell.size(), value);
  if (cell.empty() || error != std::errc() || end != cell.data() + cell.size() || !std::isfinite(value))
    return std::nullopt;
  return value;
}

Result<std::map<std::string, double>> read_metric_file(const std::string& path) {
  auto table = read_csv_file(path);
  if (!table) return table.error();
  std::map<std::string, double> out;
  for (std::size_t i = 0; i < table.value().rows.size(); ++i) {
    const auto& row = table.value().rows[i];
    if (row.size() < 2) continue;
    const auto value = parse_finite_number(row[1]);
    if (!value)
      return Error{path + ":" + std::to_string(table.value().row_line[i]) + ": '" + row[1] +
                   "' is not a number"};
    out[row[0]] = *value;
  }
  return out;
}

}  // namespace carbonmeter
