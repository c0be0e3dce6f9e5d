// A carbon-intensity time series (hourly or finer) read from CSV: FILE[:COLUMN].
//
// Semantics (docs/carbon.md): a row's value holds from its timestamp until the next row's; the
// last row holds for one median step. A row whose value is empty is a gap: no data from its
// timestamp until the next row. A hole in the rows (the next row more than two median steps later)
// is a gap too: the row before it holds for one median step only. Rows must be in strictly increasing time
// order.
#pragma once

#include <string>
#include <vector>

#include "carbonmeter/result.hpp"
#include "plan/planner.hpp"

namespace carbonmeter {

struct SeriesIntegral {
  double g_per_kwh_seconds = 0.0;  // ∫ intensity dt over the covered part
  double covered_s = 0.0;
  double uncovered_s = 0.0;  // gaps and time outside the series
};

class IntensitySeries {
 public:
  // spec: "FILE" or "FILE:COLUMN" (a column name). Errors name the file and line.
  static Result<IntensitySeries> load(const std::string& spec);
  static Result<IntensitySeries> parse(std::string_view text, const std::string& name,
                                       const std::string& column);

  // The same step function for the planner: empty values and holes become NaN steps.
  StepSeries step_series() const;

  // The intensity integrated over [from, to] (Unix seconds).
  SeriesIntegral integrate(double from_unix_s, double to_unix_s) const;
  // Whether the series has a value at that instant (not before, after, in a gap or in a hole).
  bool covers(double unix_s) const;
  double start_unix_s() const { return times_.front(); }
  double end_unix_s() const { return end_unix_s_; }
  double step_s() const { return step_s_; }
  const std::string& name() const { return name_; }
  const std::string& column() const { return column_; }
  std::size_t size() const { return times_.size(); }

 private:
  // Where row i stops holding: the next row, or one step later when a hole follows it.
  double hold_end_s(std::size_t i) const;

  std::string name_;
  std::string column_;
  std::vector<double> times_;   // row timestamps
  std::vector<double> values_;  // g/kWh, NaN for a gap
  double end_unix_s_ = 0.0;
  double step_s_ = 3600.0;
};

}  // namespace carbonmeter
