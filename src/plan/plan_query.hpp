// A plan asked for on an intensity series: the series checked against the request, extended by
// a forecast where it is too short, planned with the chosen strategy, and its JSON (`carbonmeter
// plan --json`, `run --plan`, the Python package).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "carbon/intensity_series.hpp"
#include "carbonmeter/result.hpp"
#include "plan/forecast.hpp"
#include "plan/planner.hpp"

namespace carbonmeter {

inline constexpr double kDefaultPlanWindow_s = 24 * 3600.0;

struct PlanOutcome {
  PlanRequest request;
  Plan plan;
  std::optional<ForecastQuality> forecast;  // set when the series was extended by a forecast
  double series_end_unix_s = 0.0;
};

// strategy: "flexible-start" or "pause-resume". Errors say what to change.
Result<PlanOutcome> make_plan(const IntensitySeries& series, const std::string& strategy,
                              const PlanRequest& request);

nlohmann::json plan_json(const PlanOutcome& outcome);

}  // namespace carbonmeter
