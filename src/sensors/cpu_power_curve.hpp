// The fitted CPU power curves: P(u, c) = TDP × f_v(u, c), one pair of curves per CPU vendor v.
#pragma once

#include <string>
#include <vector>

#include "carbonmeter/result.hpp"

namespace carbonmeter {

// f_v(u, c): fraction of TDP drawn at machine-wide utilisation u (0..1) with load concentration c
// (0: spread evenly over all CPUs, 1: some CPUs fully busy, the rest idle), as the blend
// (1 - c) f_spread(u) + c f_concentrated(u) of two piecewise-linear curves. The file
// (data/cpu_power_model.csv) holds one block of knots per vendor: columns vendor, utilization_pct,
// fraction_of_tdp_spread, fraction_of_tdp_concentrated; vendor is /proc/cpuinfo's vendor_id
// ("GenuineIntel", "AuthenticAMD") or "any" for the vendor-neutral curves. A file without the
// vendor column (the older layout) holds the vendor-neutral curves only.
class PowerCurve {
 public:
  static constexpr const char* kNeutralVendor = "any";

  // The curves of vendor_id; the vendor-neutral ones when the file has none for it (or it is "").
  // Fails, naming the file and line, on a missing column, a value that is not a number or out of
  // range, a repeated utilisation, a curve with fewer than two knots, or no vendor-neutral curves.
  static Result<PowerCurve> load(const std::string& path, const std::string& vendor_id = "");
  double fraction_of_tdp(double utilization, double concentration) const;
  // The vendor whose curves these are, or kNeutralVendor.
  const std::string& vendor() const { return vendor_; }
  bool vendor_specific() const { return vendor_ != kNeutralVendor; }

 private:
  struct Point {
    double utilization;
    double spread;
    double concentrated;
  };
  std::string vendor_;
  std::vector<Point> points_;
};

}  // namespace carbonmeter
