// What a model card reports about the emissions of training the model: the `co2_eq_emissions`
// of its metadata (https://huggingface.co/docs/hub/model-cards-co2), in grams of CO2e.
#pragma once

#include <optional>
#include <string>

namespace carbonmeter::hub {

struct ReportedEmissions {
  double emissions_g = 0.0;
  // Absent when the card does not give them (or gives them empty).
  std::optional<std::string> source;  // where the figure came from (a tool, a paper)
  std::optional<std::string> training_type;
  std::optional<std::string> geographical_location;
  std::optional<std::string> hardware_used;
};

}  // namespace carbonmeter::hub
