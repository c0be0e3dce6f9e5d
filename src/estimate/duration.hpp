// Durations for the calculator: "48h", "3d4h", "1h30m", "90m", "2.5h", "1w", "45s".
#pragma once

#include <string_view>

#include "carbonmeter/result.hpp"

namespace carbonmeter {

// Hours in a duration written as one or more NUMBER UNIT pairs (w, d, h, m, s). A bare number
// is refused: its unit would be a guess. Zero only when allow_zero ("0m": no delay allowed).
Result<double> parse_duration_hours(std::string_view text, bool allow_zero = false);

}  // namespace carbonmeter
