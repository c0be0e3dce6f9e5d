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

// The card's new text. Front matter is the card's first line `---` (after a UTF-8 BOM, which is
// kept) up to a line `---` or `...`, found as front_matter.hpp says (as readers find it); when the
// card has none (its first line is anything else, an indented `---` or blank lines included, or it
// is never closed), one is created at the top and the whole card follows it byte for byte.
// Line endings follow the card's first line. Numbers are written in plain dotted form.
std::string update_model_card(const std::string& card, const ModelCardEmissions& emissions);

// A number as YAML's plain dotted form, never with an exponent: 1234567.8, 0.0000012, 1000000
// (10 significant digits at most; .nan / .inf for what is not finite).
std::string yaml_plain_number(double value);

}  // namespace carbonmeter
