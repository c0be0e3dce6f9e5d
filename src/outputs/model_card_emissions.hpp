// The co2_eq_emissions block that a run report makes: emissions, how they were measured, where,
// on which hardware (`carbonmeter report --model-card` and the Python package).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "carbonmeter/result.hpp"
#include "outputs/model_card.hpp"

namespace carbonmeter {

// Fails (saying why) when the report has no emissions, or emissions of part of the run only.
Result<ModelCardEmissions> model_card_emissions(const nlohmann::json& run, const std::string& training_type);

}  // namespace carbonmeter
