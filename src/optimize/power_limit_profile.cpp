#include "optimize/power_limit_profile.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/text_file.hpp"

namespace carbonmeter {
namespace {

Result<double> number_field(const nlohmann::json& entry, const char* key, const std::string& where,
                            std::size_t i) {
  auto found = entry.find(key);
  if (found == entry.end() || !found->is_number())
    return Error{fmt::format("{}: measurement {} has no number \"{}\"", where, i + 1, key)};
  const double value = found->get<double>();
  if (!std::isfinite(value) || value < 0)
    return Error{
        fmt::format("{}: measurement {}: \"{}\" must be a finite number, 0 or more", where, i + 1, key)};
  return value;
}

}  // namespace

const PowerLimitMeasurement& PowerLimitProfile::highest() const {
  return *std::max_element(measurements.begin(), measurements.end(),
                           [](const auto& a, const auto& b) { return a.power_limit < b.power_limit; });
}

Result<PowerLimitProfile> parse_power_limit_profile(const std::string& text, const std::string& where,
                                                    std::optional<bool> milliwatts) {
  nlohmann::json document = nlohmann::json::parse(text, nullptr, false);
  if (document.is_discarded())
    return Error{where +
                 ": not JSON; a profile is {\"measurements\": [{\"power_limit\", \"energy\", \"time\"}]}"};
  if (!document.is_object() || !document.contains("measurements") || !document["measurements"].is_array())
    return Error{where +
                 ": no \"measurements\" list; a profile is {\"measurements\": [{\"power_limit\", \"energy\", "
                 "\"time\"}]}"};
  PowerLimitProfile profile;
  const nlohmann::json& list = document["measurements"];
  if (list.empty()) return Error{where + ": \"measurements\" is empty: profile at least one power limit"};
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_object()) return Error{fmt::format("{}: measurement {} is not an object", where, i + 1)};
    auto limit = number_field(list[i], "power_limit", where, i);
    if (!limit) return limit.error();
    auto energy = number_field(list[i], "energy", where, i);
    if (!energy) return energy.error();
    auto time = number_field(list[i], "time", where, i);
    if (!time) return time.error();
    if (limit.value() <= 0 || time.value() <= 0)
      return Error{fmt::format("{}: measurement {}: power_limit and time must be above 0", where, i + 1)};
    for (const PowerLimitMeasurement& seen : profile.measurements)
      if (seen.power_limit == limit.value())
        return Error{fmt::format("{}: power limit {} is measured twice; keep one", where, limit.value())};
    profile.measurements.push_back({limit.value(), energy.value(), time.value()});
  }
  profile.milliwatts = milliwatts.value_or(profile.highest().power_limit > kLargestLimitW);
  return profile;
}

Result<PowerLimitProfile> read_power_limit_profile(const std::string& path, std::optional<bool> milliwatts) {
  auto text = read_text_file(path);
  if (!text) return Error{text.error().message};
  return parse_power_limit_profile(text.value(), path, milliwatts);
}

Status write_power_limit_profile(const std::string& path,
                                 const std::vector<PowerLimitMeasurement>& measurements_w) {
  nlohmann::json list = nlohmann::json::array();
  for (const PowerLimitMeasurement& m : measurements_w) {
    nlohmann::json limit = m.power_limit == std::round(m.power_limit)
                               ? nlohmann::json(std::lround(m.power_limit))
                               : nlohmann::json(m.power_limit);
    list.push_back({{"power_limit", limit}, {"energy", m.energy_j}, {"time", m.time_s}});
  }
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << nlohmann::json{{"measurements", list}}.dump(2) << "\n";
    out.flush();
    if (!out) return Error{fmt::format("cannot write the profile {}: {}", temporary, std::strerror(errno))};
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(temporary.c_str());
    return Error{fmt::format("cannot write the profile {}: {}", path, why)};
  }
  return Ok{};
}

}  // namespace carbonmeter
