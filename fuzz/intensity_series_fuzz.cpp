// libFuzzer target for the carbon-intensity series reader (src/carbon/intensity_series.cpp, over
// src/core/csv.cpp): whatever the file holds, IntensitySeries::load gives a series or an error,
// and a series it gives is well formed (a step function with increasing boundaries, integrals
// that split the asked span into covered and uncovered time).
//
// Input: the file's bytes. A first line `#column:NAME` is taken off and names the column
// (FILE:NAME), as --intensity-series does; otherwise the reader picks the column itself.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "carbon/intensity_series.hpp"
#include "core/csv.hpp"
#include "fuzz_support.hpp"

using carbonmeter::IntensitySeries;
namespace fuzz = carbonmeter::fuzz;

namespace {

void check_integral(const IntensitySeries& series, double from, double to) {
  const auto integral = series.integrate(from, to);
  if (!(to > from) || !std::isfinite(to - from)) return;
  if (integral.covered_s < -1e-6 || integral.uncovered_s < -1e-6) std::abort();
  const double span = to - from;
  if (std::isfinite(integral.covered_s + integral.uncovered_s) &&
      std::fabs(integral.covered_s + integral.uncovered_s - span) > 1e-6 * std::max(1.0, span))
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text = fuzz::as_text(data, size);
  std::string column;
  constexpr std::string_view kColumnLine = "#column:";
  if (text.substr(0, kColumnLine.size()) == kColumnLine) {
    const std::size_t eol = text.find('\n');
    if (eol == std::string_view::npos) return 0;
    column = std::string(text.substr(kColumnLine.size(), eol - kColumnLine.size()));
    if (column.empty() || column.find(':') != std::string::npos) return 0;
    text.remove_prefix(eol + 1);
  }

  // The CSV reader on its own: what it reads, written again with every field quoted, reads back the same.
  if (auto table = carbonmeter::parse_csv(text, "fuzz.csv")) {
    std::string written;
    auto write_record = [&](const std::vector<std::string>& fields) {
      for (std::size_t i = 0; i < fields.size(); ++i) {
        written += i ? ",\"" : "\"";
        for (char c : fields[i]) written += c == '"' ? std::string("\"\"") : std::string(1, c);
        written += '"';
      }
      written += '\n';
    };
    write_record(table.value().header);
    for (const auto& row : table.value().rows) write_record(row);
    auto again = carbonmeter::parse_csv(written, "again.csv");
    if (!again || again.value().header != table.value().header || again.value().rows != table.value().rows)
      std::abort();
  }

  // As `--intensity-series FILE[:COLUMN]` reads it.
  const std::string path = fuzz::write_temp_file("series.csv", text);
  auto loaded = IntensitySeries::load(column.empty() ? path : path + ":" + column);
  if (!loaded) {
    if (loaded.error().message.empty()) std::abort();
    return 0;
  }
  const IntensitySeries& series = loaded.value();
  if (series.size() == 0 || !(series.end_unix_s() > series.start_unix_s()) || !(series.step_s() > 0))
    std::abort();

  const auto steps = series.step_series();
  if (steps.times_unix_s.size() != steps.g_per_kwh.size() + 1) std::abort();
  if (!steps.forecast.empty() && steps.forecast.size() != steps.g_per_kwh.size()) std::abort();
  for (std::size_t i = 1; i < steps.times_unix_s.size(); ++i)
    if (!(steps.times_unix_s[i] > steps.times_unix_s[i - 1])) std::abort();

  const double start = series.start_unix_s(), end = series.end_unix_s();
  check_integral(series, start, end);
  check_integral(series, start - 3600, end + 3600);
  check_integral(series, start + (end - start) / 3, start + (end - start) / 2);
  return 0;
}
