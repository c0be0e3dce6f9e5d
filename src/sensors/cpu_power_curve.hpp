// The fitted CPU power curve: P(u, c) = TDP × f(u, c).
#pragma once

#include <string>
#include <vector>

#include "carbonmeter/result.hpp"

namespace carbonmeter {

// f(u, c): fraction of TDP drawn at machine-wide utilisation u (0..1) with load concentration c
// (0: spread evenly over all CPUs, 1: some CPUs fully busy, the rest idle), as the blend
// (1 - c) f_spread(u) + c f_concentrated(u) of two piecewise-linear curves.
class PowerCurve {
 public:
  static Result<PowerCurve> load(const std::string& path);
  double fraction_of_tdp(double utilization, double concentration) const;

 private:
  struct Point {
    double utilization;
    double spread;
    double concentrated;
  };
  std::vector<Point> points_;
};

}  // namespace carbonmeter
