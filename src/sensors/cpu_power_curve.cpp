#include "sensors/cpu_power_curve.hpp"

#include <algorithm>
#include <cstdlib>

#include "core/csv.hpp"

namespace carbonmeter {
namespace {

double parse_double_or(const std::string& text, double fallback) {
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  return end == text.c_str() ? fallback : value;
}

}  // namespace

Result<PowerCurve> PowerCurve::load(const std::string& path) {
  auto table = read_csv_file(path);
  if (!table) return table.error();
  const CsvTable& csv = table.value();
  int u = csv.column("utilization_pct"), spread = csv.column("fraction_of_tdp_spread"),
      concentrated = csv.column("fraction_of_tdp_concentrated");
  if (u < 0 || spread < 0 || concentrated < 0)
    return Error{path +
                 ": expected columns utilization_pct,fraction_of_tdp_spread,fraction_of_tdp_concentrated"};
  PowerCurve curve;
  for (const auto& row : csv.rows) {
    if (static_cast<int>(row.size()) <= std::max({u, spread, concentrated})) continue;
    curve.points_.push_back({parse_double_or(row[u], 0) / 100.0, parse_double_or(row[spread], 0),
                             parse_double_or(row[concentrated], 0)});
  }
  std::sort(curve.points_.begin(), curve.points_.end(),
            [](const Point& a, const Point& b) { return a.utilization < b.utilization; });
  if (curve.points_.size() < 2) return Error{path + ": needs at least two points"};
  return curve;
}

double PowerCurve::fraction_of_tdp(double utilization, double concentration) const {
  utilization = std::clamp(utilization, 0.0, 1.0);
  concentration = std::clamp(concentration, 0.0, 1.0);
  auto blend = [&](const Point& p) {
    return (1 - concentration) * p.spread + concentration * p.concentrated;
  };
  if (utilization <= points_.front().utilization) return blend(points_.front());
  for (std::size_t i = 1; i < points_.size(); ++i) {
    const Point& p1 = points_[i];
    if (utilization <= p1.utilization) {
      const Point& p0 = points_[i - 1];
      const double f0 = blend(p0), f1 = blend(p1);
      return p1.utilization > p0.utilization
                 ? f0 + (f1 - f0) * (utilization - p0.utilization) / (p1.utilization - p0.utilization)
                 : f1;
    }
  }
  return blend(points_.back());
}

}  // namespace carbonmeter
