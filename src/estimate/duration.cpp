#include "estimate/duration.hpp"

#include <charconv>
#include <cmath>
#include <string>

namespace carbonmeter {

Result<double> parse_duration_hours(std::string_view text, bool allow_zero) {
  const std::string shown(text);
  auto refuse = [&](const std::string& why) {
    return Error{"--duration '" + shown + "': " + why + " (write e.g. 48h, 3d4h, 1h30m, 90m)"};
  };
  double hours = 0.0;
  bool any = false;
  while (!text.empty()) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    if (text.empty()) break;
    double amount = 0.0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), amount);
    if (error != std::errc() || end == text.data()) return refuse("expected a number");
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    if (text.empty()) return refuse("a number needs a unit: w, d, h, m or s");
    double unit_hours = 0.0;
    switch (text.front()) {
      case 'w':
        unit_hours = 168.0;
        break;
      case 'd':
        unit_hours = 24.0;
        break;
      case 'h':
        unit_hours = 1.0;
        break;
      case 'm':
        unit_hours = 1.0 / 60.0;
        break;
      case 's':
        unit_hours = 1.0 / 3600.0;
        break;
      default:
        return refuse(std::string("unknown unit '") + text.front() + "'");
    }
    text.remove_prefix(1);
    if (!std::isfinite(amount) || amount < 0) return refuse("amounts must be finite and not negative");
    hours += amount * unit_hours;
    any = true;
  }
  if (!any) return refuse("empty");
  if (!std::isfinite(hours) || (!allow_zero && !(hours > 0))) return refuse("must be longer than zero");
  return hours;
}

}  // namespace carbonmeter
