#include "optimize/power_limit_choice.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace carbonmeter {

Result<PowerLimitObjective> PowerLimitObjective::parse(const std::string& text) {
  const std::size_t colon = text.find(':');
  std::string name = text.substr(0, colon);
  std::replace(name.begin(), name.end(), '-', '_');
  PowerLimitObjective objective;
  if (name == "eta") {
    objective = {Kind::eta, 0.5};
  } else if (name == "max_slowdown") {
    objective = {Kind::max_slowdown, 1.1};
  } else if (name == "energy" || name == "time") {
    if (colon != std::string::npos) return Error{"objective '" + text + "': " + name + " takes no value"};
    return PowerLimitObjective{name == "energy" ? Kind::energy : Kind::time, 0.0};
  } else {
    return Error{"unknown objective '" + text + "': use eta[:0.5], max_slowdown[:1.1], energy or time"};
  }
  if (colon != std::string::npos) {
    const std::string value = text.substr(colon + 1);
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), objective.value);
    if (ec != std::errc() || end != value.data() + value.size() || value.empty())
      return Error{"objective '" + text + "': '" + value + "' is not a number"};
  }
  if (auto valid = objective.validate(); !valid) return valid.error();
  return objective;
}

Status PowerLimitObjective::validate() const {
  if (kind == Kind::eta && !(value >= 0.0 && value <= 1.0))
    return Error{fmt::format("eta must be between 0 (fastest) and 1 (least energy), not {}", value)};
  if (kind == Kind::max_slowdown && !(value >= 1.0 && std::isfinite(value)))
    return Error{
        fmt::format("the slowdown factor must be 1 or more (1.1 = at most 10 % slower), not {}", value)};
  return Ok{};
}

std::string PowerLimitObjective::describe() const {
  switch (kind) {
    case Kind::eta:
      return fmt::format("eta {:g}", value);
    case Kind::max_slowdown:
      return fmt::format("max-slowdown {:g}", value);
    case Kind::energy:
      return "energy";
    case Kind::time:
      return "time";
  }
  return "";
}

Result<PowerLimitChoice> choose_power_limit(const PowerLimitProfile& profile,
                                            const PowerLimitObjective& objective, int gpu_count) {
  if (auto valid = objective.validate(); !valid) return valid.error();
  if (profile.measurements.empty()) return Error{"the profile has no measurements"};
  if (gpu_count < 1) return Error{"the GPU count must be 1 or more"};
  const auto& all = profile.measurements;
  const PowerLimitMeasurement& highest = profile.highest();
  const double max_power_w = profile.to_w(highest.power_limit) * gpu_count;

  PowerLimitChoice choice;
  for (const PowerLimitMeasurement& m : all) {
    switch (objective.kind) {
      case PowerLimitObjective::Kind::eta:
        choice.costs.push_back(objective.value * m.energy_j +
                               (1.0 - objective.value) * max_power_w * m.time_s);
        break;
      case PowerLimitObjective::Kind::max_slowdown:
        // A relative tolerance, so that the highest limit itself always qualifies.
        if (m.time_s <= objective.value * highest.time_s * (1.0 + 1e-12))
          choice.costs.push_back(m.energy_j);
        else
          choice.costs.push_back(std::nullopt);
        break;
      case PowerLimitObjective::Kind::energy:
        choice.costs.push_back(m.energy_j);
        break;
      case PowerLimitObjective::Kind::time:
        choice.costs.push_back(m.time_s);
        break;
    }
  }
  choice.cost_unit = objective.kind == PowerLimitObjective::Kind::time ? "s" : "J";
  bool found = false;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (!choice.costs[i]) continue;
    const double cost = *choice.costs[i];
    const PowerLimitMeasurement& best = all[choice.index];
    const bool better =
        !found || cost < choice.cost ||
        (cost == choice.cost && (all[i].energy_j < best.energy_j || (all[i].energy_j == best.energy_j &&
                                                                     all[i].power_limit < best.power_limit)));
    if (better) {
      choice.index = i;
      choice.cost = cost;
      found = true;
    }
  }
  const PowerLimitMeasurement& best = all[choice.index];
  choice.energy_change = highest.energy_j > 0 ? best.energy_j / highest.energy_j - 1.0 : 0.0;
  choice.time_change = best.time_s / highest.time_s - 1.0;
  return choice;
}

}  // namespace carbonmeter
