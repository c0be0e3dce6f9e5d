#include "carbon/timestamp.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>

namespace carbonmeter {
namespace {

bool digits(std::string_view text, std::size_t at, std::size_t count, int& out) {
  if (at + count > text.size()) return false;
  out = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy =
      (153 * static_cast<unsigned>(m + (m > 2 ? -3 : 9)) + 2) / 5 + static_cast<unsigned>(d) - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

}  // namespace

std::optional<double> parse_timestamp(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '"')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '"' || text.back() == '\r'))
    text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  // Unix seconds: a plain number.
  double seconds = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  // Unix seconds from 1970 to the end of 9999, as ISO dates below are limited to.
  if (error == std::errc() && end == text.data() + text.size())
    return std::isfinite(seconds) && seconds >= 0 && seconds < kYear10000UnixS
               ? std::optional<double>(seconds)
               : std::nullopt;

  int year, month, day, hour, minute, second = 0;
  if (!digits(text, 0, 4, year) || text.size() < 16 || text[4] != '-' || !digits(text, 5, 2, month) ||
      text[7] != '-' || !digits(text, 8, 2, day) || (text[10] != 'T' && text[10] != ' ') ||
      !digits(text, 11, 2, hour) || text[13] != ':' || !digits(text, 14, 2, minute))
    return std::nullopt;
  std::size_t at = 16;
  double fraction = 0.0;
  if (at < text.size() && text[at] == ':') {
    if (!digits(text, at + 1, 2, second)) return std::nullopt;
    at += 3;
    if (at < text.size() && (text[at] == '.' || text[at] == ',')) {
      double scale = 0.1;
      for (++at; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at, scale /= 10)
        fraction += (text[at] - '0') * scale;
    }
  }
  static constexpr int kDaysInMonth[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month < 1 || month > 12 || day < 1 || day > kDaysInMonth[month - 1] ||
      (month == 2 && day == 29 && !leap) || hour > 24 || minute > 59 || second > 60 ||
      (hour == 24 && (minute != 0 || second != 0 || fraction != 0)))
    return std::nullopt;
  int offset_s = 0;
  if (at >= text.size()) return std::nullopt;  // no offset: refused
  if (text[at] == 'Z' || text[at] == 'z') {
    ++at;
  } else if (text[at] == '+' || text[at] == '-') {
    const int sign = text[at] == '-' ? -1 : 1;
    int offset_hours, offset_minutes = 0;
    if (!digits(text, at + 1, 2, offset_hours)) return std::nullopt;
    at += 3;
    if (at < text.size() && text[at] == ':') ++at;
    if (at < text.size()) {
      if (!digits(text, at, 2, offset_minutes)) return std::nullopt;
      at += 2;
    }
    if (offset_hours > 23 || offset_minutes > 59) return std::nullopt;
    offset_s = sign * (offset_hours * 3600 + offset_minutes * 60);
  } else {
    return std::nullopt;
  }
  if (at != text.size()) return std::nullopt;
  const double local = static_cast<double>(days_from_civil(year, month, day)) * 86400.0 + hour * 3600.0 +
                       minute * 60.0 + second + fraction;
  return local - offset_s;
}

std::chrono::system_clock::time_point system_time_of(double unix_s) {
  using Clock = std::chrono::system_clock;
  // 9.2e9 s holds in nanoseconds (to 2261) and in any coarser tick.
  constexpr double kLimit_s = 9.2e9;
  if (std::isnan(unix_s)) return Clock::time_point::min();
  if (unix_s >= kLimit_s) return Clock::time_point::max();
  if (unix_s <= -kLimit_s) return Clock::time_point::min();
  return Clock::time_point(
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(unix_s)));
}

}  // namespace carbonmeter
