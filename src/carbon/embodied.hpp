// Embodied (manufacturing) emissions of the hardware, amortised over its lifetime for the run's
// duration, from data/embodied.csv; reported apart from operational emissions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "carbonmeter/result.hpp"
#include "core/run_report.hpp"

namespace carbonmeter {

struct EmbodiedItem {
  std::string item;
  int count = 1;
  double kg_co2e = 0.0;
  double lifetime_hours = 0.0;
  double amortised_g = 0.0;
  std::string source;
};

struct EmbodiedAccount {
  double total_g = 0.0;
  std::vector<EmbodiedItem> items;
};

// spec: "auto" (a server and the run's GPUs), or "ITEM[xN],..." naming rows of data/embodied.csv.
// The error lists the known items.
Result<EmbodiedAccount> amortise_embodied(const std::string& spec, const RunReport& report);
nlohmann::json embodied_json(const EmbodiedAccount& account);

}  // namespace carbonmeter
