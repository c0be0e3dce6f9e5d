#include "sensors/cpu_power_curve.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>

#include "core/csv.hpp"

namespace carbonmeter {
namespace {}  // namespace

Result<PowerCurve> PowerCurve::load(const std::string& path, const std::string& vendor_id) {
  auto table = read_csv_file(path);
  if (!table) return table.error();
  const CsvTable& csv = table.value();
  const int vendor = csv.column("vendor"), u = csv.column("utilization_pct"),
            spread = csv.column("fraction_of_tdp_spread"),
            concentrated = csv.column("fraction_of_tdp_concentrated");
  if (u < 0 || spread < 0 || concentrated < 0)
    return Error{path +
                 ": expected columns [vendor,]utilization_pct,fraction_of_tdp_spread,"
                 "fraction_of_tdp_concentrated; regenerate it with "
                 "bench/cpu_model/fit_cpu_power_model.py or reinstall carbonmeter"};
  const int needed = std::max({vendor, u, spread, concentrated});
  std::map<std::string, std::vector<Point>> curves;  // every block is checked, not only the one used
  for (std::size_t i = 0; i < csv.rows.size(); ++i) {
    const auto& row = csv.rows[i];
    const std::string where = path + ":" + std::to_string(csv.row_line[i]) + ": ";
    if (static_cast<int>(row.size()) <= needed)
      return Error{where + "expected " + std::to_string(needed + 1) + " fields, found " +
                   std::to_string(row.size())};
    const std::string name = vendor < 0 ? kNeutralVendor : row[vendor];
    if (name.empty()) return Error{where + "empty vendor (use 'any' for the vendor-neutral curves)"};
    Point p{};
    for (auto [column, value] : {std::pair{u, &p.utilization}, std::pair{spread, &p.spread},
                                 std::pair{concentrated, &p.concentrated}}) {
      const auto number = parse_finite_number(row[column]);
      if (!number)
        return Error{where + "'" + row[column] + "' is not a number (column " + csv.header[column] + ")"};
      *value = *number;
    }
    if (p.utilization < 0 || p.utilization > 100)
      return Error{where + "utilization_pct " + row[u] + " is outside 0..100"};
    if (p.spread < 0 || p.spread > 2 || p.concentrated < 0 || p.concentrated > 2)
      return Error{where + "a fraction of TDP outside 0..2"};
    p.utilization /= 100.0;
    auto& points = curves[name];
    if (std::any_of(points.begin(), points.end(),
                    [&](const Point& q) { return q.utilization == p.utilization; }))
      return Error{where + "utilization_pct " + row[u] + " repeated for vendor '" + name + "'"};
    points.push_back(p);
  }
  for (auto& [name, points] : curves) {
    if (points.size() < 2) return Error{path + ": vendor '" + name + "' needs at least two points"};
    std::sort(points.begin(), points.end(),
              [](const Point& a, const Point& b) { return a.utilization < b.utilization; });
  }
  if (!curves.count(kNeutralVendor))
    return Error{path + ": no vendor-neutral curves (rows with vendor '" + std::string(kNeutralVendor) +
                 "'), needed for CPUs of other vendors"};
  PowerCurve curve;
  auto chosen = curves.find(vendor_id);
  if (vendor_id.empty() || chosen == curves.end()) chosen = curves.find(kNeutralVendor);
  curve.vendor_ = chosen->first;
  curve.points_ = std::move(chosen->second);
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
      return f0 + (f1 - f0) * (utilization - p0.utilization) / (p1.utilization - p0.utilization);
    }
  }
  return blend(points_.back());
}

}  // namespace carbonmeter
