#include "estimate/accelerator_table.hpp"

#include <cmath>
#include <cstdlib>
#include <set>

#include "core/csv.hpp"
#include "core/roots.hpp"
#include "core/text_file.hpp"

namespace carbonmeter {
namespace {

constexpr const char* kColumns[] = {"name",       "vendor",  "kind",   "memory_gb", "power_w",
                                    "power_kind", "aliases", "source", "year"};

std::vector<std::string> split_aliases(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t bar = text.find('|', start);
    const std::string alias = text.substr(start, bar == std::string::npos ? std::string::npos : bar - start);
    if (!alias.empty()) out.push_back(alias);
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  return out;
}

}  // namespace

std::string_view power_kind_name(PowerKind kind) {
  return kind == PowerKind::measured_average ? "measured_average" : "tdp";
}

Result<AcceleratorTable> AcceleratorTable::load() { return load_from(data_dir()); }

Result<AcceleratorTable> AcceleratorTable::load_from(const std::string& dir) {
  const std::string path = dir + "/accelerators.csv";
  auto text = read_text_file(path);
  if (!text) return Error{"accelerator table missing: " + text.error().message};
  return parse(text.value(), path);
}

Result<AcceleratorTable> AcceleratorTable::parse(std::string_view text, const std::string& source_name) {
  auto parsed = parse_csv(text, source_name);
  if (!parsed) return parsed.error();
  const CsvTable& csv = parsed.value();
  for (const char* column : kColumns)
    if (csv.column(column) < 0)
      return Error{source_name + ":1: missing column '" + column +
                   "' (regenerate it with scripts/data/build_accelerator_table.py)"};

  AcceleratorTable table;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < csv.rows.size(); ++i) {
    const std::vector<std::string>& cells = csv.rows[i];
    const std::string where = source_name + ":" + std::to_string(csv.row_line[i]) + ": ";
    if (cells.size() != csv.header.size())
      return Error{where + std::to_string(cells.size()) + " fields where the header has " +
                   std::to_string(csv.header.size())};
    auto get = [&](std::string_view column) -> const std::string& {
      const int index = csv.column(column);
      static const std::string none;
      return index < 0 ? none : cells[static_cast<std::size_t>(index)];
    };

    Accelerator row;
    row.name = get("name");
    if (row.name.empty()) return Error{where + "empty name"};
    if (!seen.insert(row.name).second) return Error{where + "'" + row.name + "' appears twice"};
    row.vendor = get("vendor");
    row.kind = get("kind");
    if (!get("memory_gb").empty()) {
      row.memory_gb = parse_finite_number(get("memory_gb"));
      if (!row.memory_gb || *row.memory_gb <= 0 || *row.memory_gb > 1e6)
        return Error{where + "memory_gb '" + get("memory_gb") + "' is not a number of GB from 0 to 1000000"};
    }
    const auto power = parse_finite_number(get("power_w"));
    if (!power || *power <= 0)
      return Error{where + "power_w '" + get("power_w") + "' is not a positive number of watts"};
    row.power_w = *power;
    if (get("power_kind") == "tdp")
      row.power_kind = PowerKind::tdp;
    else if (get("power_kind") == "measured_average")
      row.power_kind = PowerKind::measured_average;
    else
      return Error{where + "power_kind '" + get("power_kind") + "' is neither 'tdp' nor 'measured_average'"};
    row.aliases = split_aliases(get("aliases"));
    row.source = get("source");
    if (row.source.empty()) return Error{where + "no source for '" + row.name + "'"};
    row.reference = get("reference");
    if (!get("year").empty()) {
      const auto year = parse_finite_number(get("year"));
      if (!year || *year != std::floor(*year) || *year < 1990 || *year > 2100)
        return Error{where + "year '" + get("year") + "' is not a year"};
      row.year = static_cast<int>(*year);
    }
    row.notes = get("notes");

    std::vector<AcceleratorName> names;
    names.push_back(normalise_accelerator_name(row.name));
    for (const std::string& alias : row.aliases) names.push_back(normalise_accelerator_name(alias));
    for (AcceleratorName& name : names)
      if (!name.memory_gb && row.memory_gb) name.memory_gb = static_cast<int>(std::lround(*row.memory_gb));
    table.rows_.push_back(std::move(row));
    table.names_.push_back(std::move(names));
  }
  return table;
}

}  // namespace carbonmeter
