// Reads `co2_eq_emissions` from a model's card data as the Hub's API gives it (JSON): a number of
// grams, or an object with `emissions` (grams) and optional source, training_type,
// geographical_location and hardware_used. Same rules as the card reader (card_front_matter.hpp):
// a numeric string is a number; units written as text, NaN, negative figures and an object
// without emissions are errors.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>

#include "carbonmeter/result.hpp"
#include "hub/reported_emissions.hpp"

namespace carbonmeter::hub {

// `card_data`: the item's "cardData" (null or absent: no emissions reported).
Result<std::optional<ReportedEmissions>> emissions_from_card_data(const nlohmann::json& card_data);

}  // namespace carbonmeter::hub
