#include "hub/json_emissions.hpp"

#include <string>

#include "hub/emissions_figure.hpp"

namespace carbonmeter::hub {
namespace {

using nlohmann::json;

Result<double> grams_of(const json& value, const std::string& what) {
  if (value.is_number()) return parse_grams(value.dump(), what);
  if (value.is_string()) return parse_grams(value.get<std::string>(), what);
  if (value.is_null()) return parse_grams("", what);
  return Error{what + " is " + std::string(value.type_name()) +
               ", not a number: write the emissions in grams as a plain number (e.g. 1200)"};
}

// A descriptive field as text: strings as they are, numbers and booleans as written, lists joined.
std::optional<std::string> text_of(const json& value) {
  if (value.is_null()) return std::nullopt;
  std::string text;
  if (value.is_string()) {
    text = value.get<std::string>();
  } else if (value.is_array()) {
    for (const json& item : value) {
      const std::optional<std::string> part = text_of(item);
      if (part) text += (text.empty() ? "" : ", ") + *part;
    }
  } else {
    text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  if (text.empty()) return std::nullopt;
  return text;
}

}  // namespace

Result<std::optional<ReportedEmissions>> emissions_from_card_data(const json& card_data) {
  if (!card_data.is_object() || !card_data.contains("co2_eq_emissions"))
    return std::optional<ReportedEmissions>();
  const json& reported = card_data.at("co2_eq_emissions");
  ReportedEmissions out;
  if (!reported.is_object()) {
    if (reported.is_null())
      return Error{"co2_eq_emissions has no emissions figure: give the grams as `co2_eq_emissions: 1200`"};
    auto grams = grams_of(reported, "co2_eq_emissions");
    if (!grams) return grams.error();
    out.emissions_g = grams.value();
    return std::optional<ReportedEmissions>(std::move(out));
  }
  if (!reported.contains("emissions"))
    return Error{"co2_eq_emissions has no emissions figure: add `emissions: 1200` (grams) under it"};
  auto grams = grams_of(reported.at("emissions"), "co2_eq_emissions emissions");
  if (!grams) return grams.error();
  out.emissions_g = grams.value();
  const auto field = [&reported](const char* key) {
    return reported.contains(key) ? text_of(reported.at(key)) : std::nullopt;
  };
  out.source = field("source");
  out.training_type = field("training_type");
  out.geographical_location = field("geographical_location");
  out.hardware_used = field("hardware_used");
  return std::optional<ReportedEmissions>(std::move(out));
}

}  // namespace carbonmeter::hub
