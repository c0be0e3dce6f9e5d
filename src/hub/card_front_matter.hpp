// Reads `co2_eq_emissions` from the YAML front matter of a model card (a README.md). Not a YAML
// parser: it reads the two forms the Hub documents, with the tolerances of the pure-Python reader
// (python/carbonmeter/hub.py), so that both give the same figures for the same valid cards:
//
//   co2_eq_emissions: 1200          # grams
//   co2_eq_emissions:
//     emissions: 1200               # grams
//     source: "carbonmeter 0.1.0"
//     training_type: fine-tuning
//     geographical_location: Paris, France
//     hardware_used: 8 x H100
//
// Where the front matter is and which key is co2_eq_emissions follow outputs/front_matter.hpp (what
// the card writer uses). Stricter than the Python reader where the YAML itself is broken: front
// matter that holds a top-level co2_eq_emissions and is never closed (without one, a `---` never
// closed is no front matter, as in Python), and keys under co2_eq_emissions that are not indented
// alike, are errors.
#pragma once

#include <optional>
#include <string_view>

#include "carbonmeter/result.hpp"
#include "hub/reported_emissions.hpp"

namespace carbonmeter::hub {

// nullopt: the card has no front matter, or no top-level co2_eq_emissions. The error says what is
// wrong and what to write instead (with the card's line number); it does not name the card.
Result<std::optional<ReportedEmissions>> read_card_emissions(std::string_view card_text);

}  // namespace carbonmeter::hub
