// Reads the emissions figure of a model card as a number of grams, with the tolerance of Python's
// float() (what python/carbonmeter/hub.py uses): surrounding spaces, a sign, underscores between
// digits, an exponent. Units written as text, NaN, infinities and negative figures are errors that
// say what to write instead.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "carbonmeter/result.hpp"

namespace carbonmeter::hub {

// The number Python's float() reads from `text`, or nullopt when it reads none (NaN and the
// infinities are numbers here).
std::optional<double> python_float(std::string_view text);

// `text` as grams: finite, 0 or more. `what` names the figure in the error, e.g.
// "co2_eq_emissions emissions (line 4)".
Result<double> parse_grams(std::string_view text, const std::string& what);

}  // namespace carbonmeter::hub
