#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>

namespace carbonmeter {

// A JSON integer within [min, max], or nothing. Only numbers written as integers count: nlohmann's
// get<int>() casts a float such as 4.2e43 to int, which is undefined behaviour, so files that
// others may have written (journals, markers) are read through this.
inline std::optional<std::int64_t> json_integer(const nlohmann::json& value, std::int64_t min,
                                                std::int64_t max) {
  if (!value.is_number_integer()) return std::nullopt;  // floats, strings, null, ...
  if (value.is_number_unsigned() &&
      value.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return std::nullopt;
  const std::int64_t number = value.get<std::int64_t>();
  if (number < min || number > max) return std::nullopt;
  return number;
}

// The same for object[key]; nothing when the key is absent.
inline std::optional<std::int64_t> json_integer_at(const nlohmann::json& object, const char* key,
                                                   std::int64_t min, std::int64_t max) {
  const auto it = object.find(key);
  return it == object.end() ? std::nullopt : json_integer(*it, min, max);
}

}  // namespace carbonmeter
