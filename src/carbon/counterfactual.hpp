// What a measured run would have emitted at another time or on another grid: its energy, piece by
// piece, laid on an intensity series from a chosen start (Dodge et al. 2022's counterfactuals).
#pragma once

#include <optional>
#include <vector>

#include "carbon/intensity_series.hpp"

namespace carbonmeter {

struct EnergyPiece {
  double from_s = 0.0;  // offsets from the run's start (or from its first running moment)
  double to_s = 0.0;
  double energy_kwh = 0.0;  // spread evenly over [from_s, to_s]
};

// Σ energy × the series' mean intensity over [start + from, start + to], in g; nullopt when the
// series does not cover a piece that has energy.
std::optional<double> emissions_at_g(const std::vector<EnergyPiece>& pieces, const IntensitySeries& series,
                                     double start_unix_s);

}  // namespace carbonmeter
