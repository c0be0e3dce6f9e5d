#include "carbon/counterfactual.hpp"

namespace carbonmeter {

std::optional<double> emissions_at_g(const std::vector<EnergyPiece>& pieces, const IntensitySeries& series,
                                     double start_unix_s) {
  double emissions_g = 0.0;
  for (const EnergyPiece& piece : pieces) {
    if (piece.energy_kwh == 0) continue;
    const double length_s = piece.to_s - piece.from_s;
    if (!(length_s > 0)) return std::nullopt;  // energy needs time to be placed in
    const SeriesIntegral integral = series.integrate(start_unix_s + piece.from_s, start_unix_s + piece.to_s);
    if (integral.uncovered_s > 0) return std::nullopt;
    emissions_g += piece.energy_kwh * integral.g_per_kwh_seconds / length_s;
  }
  return emissions_g;
}

}  // namespace carbonmeter
