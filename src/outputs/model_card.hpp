// The Hugging Face model card's `co2_eq_emissions` block (YAML front matter of README.md):
// added or replaced, every other byte of the card kept as it was.
#pragma once

#include <string>

#include "carbonmeter/result.hpp"

namespace carbonmeter {

struct ModelCardEmissions {
  double emissions_g = 0.0;
  std::string source;
  std::string training_type;  // "pre-training", "fine-tuning", ... ("" = left out)
  std::string geographical_location;
  std::string hardware_used;
};

// The card's new text. Front matter is created when there is none; line endings follow the card's.
std::string update_model_card(const std::string& card, const ModelCardEmissions& emissions);

}  // namespace carbonmeter
