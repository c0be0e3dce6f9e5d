// Numbers for people: a few significant figures, never an exponent (12, 6.72, 1234568).
#pragma once

#include <string>

namespace carbonmeter {

std::string format_significant(double value, int significant = 4);

}  // namespace carbonmeter
