// What the CPU estimate needs: the CPU's TDP from the shipped table (forgiving name matching)
// and the fitted power curve P(u) = TDP × f(u).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "carbonmeter/result.hpp"

namespace carbonmeter {

struct CpuSpec {
  std::string name;
  double tdp_w = 0.0;
  int cores = 0;
  int threads = 0;
  std::string source;
};

// "Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz" -> "intel xeon e5-2686 v4".
std::string normalize_cpu_name(const std::string& name);

class CpuTdpTable {
 public:
  static Result<CpuTdpTable> load(const std::string& path);
  // The entry whose normalised name equals the model's, else the most specific entry whose
  // words all appear in the model's name (and that names a model number).
  std::optional<CpuSpec> match(const std::string& model_name) const;
  std::size_t size() const { return specs_.size(); }

 private:
  std::vector<CpuSpec> specs_;
  std::vector<std::string> normalized_;
};

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
