// Timestamps of intensity series: ISO 8601 with an offset ("2022-01-01T00:00:00+00:00",
// "2022-01-01 00:00:00Z", fractional seconds allowed) or Unix seconds ("1640995200").
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace carbonmeter {

// 10000-01-01T00:00:00Z. Times are taken up to the end of 9999: later ones do not fit the
// calendars and the signed 64-bit day and nanosecond counts they are turned into.
inline constexpr double kYear10000UnixS = 253402300800.0;

// Seconds since the Unix epoch, or nullopt when the text is neither form. A date and time
// without an offset is refused: its time zone would be a guess.
std::optional<double> parse_timestamp(std::string_view text);

// The system clock's time at unix_s. The clock counts signed 64-bit nanoseconds, which end in 2262:
// a later time is the clock's latest, an earlier one than it holds (or NaN) its earliest, instead of
// a conversion that would be undefined behaviour.
std::chrono::system_clock::time_point system_time_of(double unix_s);

}  // namespace carbonmeter
