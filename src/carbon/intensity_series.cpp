#include "carbon/intensity_series.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>

#include "carbon/timestamp.hpp"
#include "core/csv.hpp"
#include "core/text_file.hpp"

namespace carbonmeter {
namespace {

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

int find_time_column(const CsvTable& table) {
  for (std::size_t i = 0; i < table.header.size(); ++i) {
    const std::string name = lower(table.header[i]);
    if (name == "timestamp" || name == "time" || name == "datetime" || name == "date" || name == "period" ||
        name.find("timestamp") != std::string::npos || name.find("datetime") != std::string::npos)
      return static_cast<int>(i);
  }
  return 0;
}

int find_intensity_column(const CsvTable& table, int time_column) {
  for (std::size_t i = 0; i < table.header.size(); ++i) {
    const std::string name = lower(table.header[i]);
    if (static_cast<int>(i) != time_column &&
        (name.find("intensity") != std::string::npos || name == "avg_ci" || name == "ci" ||
         name.find("gco2") != std::string::npos))
      return static_cast<int>(i);
  }
  if (table.header.size() == 2) return time_column == 0 ? 1 : 0;
  return -1;
}

}  // namespace

Result<IntensitySeries> IntensitySeries::load(const std::string& spec) {
  std::string path = spec, column;
  std::error_code ec;
  if (!std::filesystem::exists(spec, ec)) {
    if (auto colon = spec.rfind(':'); colon != std::string::npos) {
      path = spec.substr(0, colon);
      column = spec.substr(colon + 1);
    }
  }
  auto text = read_text_file(path);
  if (!text) return Error{"--intensity-series: " + text.error().message};
  return parse(text.value(), path, column);
}

Result<IntensitySeries> IntensitySeries::parse(std::string_view text, const std::string& name,
                                               const std::string& column) {
  auto table = parse_csv(text, name);
  if (!table) return table.error();
  const CsvTable& csv = table.value();
  IntensitySeries series;
  series.name_ = name;
  const int time_column = find_time_column(csv);
  int value_column = column.empty() ? find_intensity_column(csv, time_column) : csv.column(column);
  if (value_column < 0) {
    std::string columns;
    for (const std::string& h : csv.header) columns += (columns.empty() ? "" : ", ") + h;
    return Error{name + ": " +
                 (column.empty() ? "which column holds the intensity? name it as FILE:COLUMN"
                                 : "no column '" + column + "'") +
                 " (columns: " + columns + ")"};
  }
  series.column_ = csv.header[static_cast<std::size_t>(value_column)];
  for (std::size_t r = 0; r < csv.rows.size(); ++r) {
    const auto& row = csv.rows[r];
    const std::string where = name + ":" + std::to_string(csv.row_line[r]);
    if (row.size() <= static_cast<std::size_t>(std::max(time_column, value_column)))
      return Error{where + ": too few fields (expected " + std::to_string(csv.header.size()) + ")"};
    auto time = parse_timestamp(row[static_cast<std::size_t>(time_column)]);
    if (!time)
      return Error{
          where + ": '" + row[static_cast<std::size_t>(time_column)] +
          "' is not a timestamp (ISO 8601 with an offset, e.g. 2022-01-01T00:00:00+00:00, or Unix seconds)"};
    if (!series.times_.empty() && *time <= series.times_.back())
      return Error{where + ": rows must be in increasing time order (this one is not after the one before)"};
    const std::string value_text(trim(row[static_cast<std::size_t>(value_column)]));
    double value = std::numeric_limits<double>::quiet_NaN();
    if (!value_text.empty()) {
      const char* first = value_text.data() + (value_text[0] == '+' ? 1 : 0);
      const char* last = value_text.data() + value_text.size();
      auto [end, error] = std::from_chars(first, last, value);  // decimal only: no hex, inf or nan
      if (error != std::errc() || end != last || !std::isfinite(value) || value < 0 || value > 5000)
        return Error{where + ": '" + value_text + "' is not an intensity in g/kWh (a number from 0 to 5000)"};
    }
    series.times_.push_back(*time);
    series.values_.push_back(value);
  }
  if (series.times_.empty()) return Error{name + ": no rows"};
  std::vector<double> steps;
  for (std::size_t i = 1; i < series.times_.size(); ++i)
    steps.push_back(series.times_[i] - series.times_[i - 1]);
  if (!steps.empty()) {
    std::nth_element(steps.begin(), steps.begin() + steps.size() / 2, steps.end());
    series.step_s_ = steps[steps.size() / 2];
  }
  series.end_unix_s_ = series.times_.back() + series.step_s_;
  return series;
}

StepSeries IntensitySeries::step_series() const {
  StepSeries out;
  for (std::size_t i = 0; i < times_.size(); ++i) {
    const double row_end = i + 1 < times_.size() ? times_[i + 1] : end_unix_s_;
    out.times_unix_s.push_back(times_[i]);
    out.g_per_kwh.push_back(values_[i]);
    if (row_end - times_[i] > 2 * step_s_) {  // a hole: the row holds one step, then nothing is known
      out.times_unix_s.push_back(times_[i] + step_s_);
      out.g_per_kwh.push_back(std::numeric_limits<double>::quiet_NaN());
    }
  }
  out.times_unix_s.push_back(end_unix_s_);
  return out;
}

double IntensitySeries::hold_end_s(std::size_t i) const {
  const double row_end = i + 1 < times_.size() ? times_[i + 1] : end_unix_s_;
  return row_end - times_[i] > 2 * step_s_ ? times_[i] + step_s_ : row_end;
}

bool IntensitySeries::covers(double unix_s) const {
  if (!(unix_s >= times_.front() && unix_s < end_unix_s_)) return false;
  const std::size_t i =
      static_cast<std::size_t>(std::upper_bound(times_.begin(), times_.end(), unix_s) - times_.begin()) - 1;
  return !std::isnan(values_[i]) && unix_s < hold_end_s(i);
}

SeriesIntegral IntensitySeries::integrate(double from, double to) const {
  SeriesIntegral out;
  if (!(to > from)) return out;
  // Before the first row and after the end: uncovered.
  out.uncovered_s += std::max(0.0, std::min(to, times_.front()) - from);
  out.uncovered_s += std::max(0.0, to - std::max(from, end_unix_s_));
  const double a = std::max(from, times_.front()), b = std::min(to, end_unix_s_);
  if (b <= a) return out;
  std::size_t i =
      static_cast<std::size_t>(std::upper_bound(times_.begin(), times_.end(), a) - times_.begin()) - 1;
  for (double t = a; t < b && i < times_.size(); ++i) {
    const double row_end = i + 1 < times_.size() ? times_[i + 1] : end_unix_s_;
    const double held = std::max(0.0, std::min(b, hold_end_s(i)) - t);
    const double piece = std::min(b, row_end) - t;
    if (piece > 0) {
      if (std::isnan(values_[i])) {
        out.uncovered_s += piece;
      } else {
        out.covered_s += held;
        out.g_per_kwh_seconds += values_[i] * held;
        out.uncovered_s += piece - held;
      }
    }
    t = row_end;
  }
  return out;
}

}  // namespace carbonmeter
