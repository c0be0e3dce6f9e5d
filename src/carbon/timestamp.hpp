// Timestamps of intensity series: ISO 8601 with an offset ("2022-01-01T00:00:00+00:00",
// "2022-01-01 00:00:00Z", fractional seconds allowed) or Unix seconds ("1640995200").
#pragma once

#include <optional>
#include <string_view>

namespace carbonmeter {

// Seconds since the Unix epoch, or nullopt when the text is neither form. A date and time
// without an offset is refused: its time zone would be a guess.
std::optional<double> parse_timestamp(std::string_view text);

}  // namespace carbonmeter
