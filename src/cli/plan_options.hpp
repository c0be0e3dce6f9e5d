// The planning options shared by `carbonmeter plan` and `carbonmeter run --plan`, and what they
// produce: a plan on the intensity series, extended by a forecast where it is too short.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "carbon/intensity_series.hpp"
#include "plan/forecast.hpp"
#include "plan/plan_query.hpp"
#include "plan/planner.hpp"

namespace carbonmeter::cli {

struct PlanFlags {
  std::string strategy;  // flexible-start | pause-resume
  std::string duration;  // the run's expected length
  std::string window;    // --window or --max-delay (the same thing for each strategy)
  std::string not_before;
  std::string min_run;
  double pause_cost_g = 0.0;
  double power_w = 1000.0;
  CLI::Option* power_given = nullptr;
};

// `with_strategy`: `plan` has --strategy; `run` has --plan STRATEGY instead.
void add_plan_options(CLI::App& command, PlanFlags& flags, bool with_strategy);

// Throws UsageError with one clear line for bad flags or a plan that cannot be made.
PlanOutcome make_plan(const PlanFlags& flags, const IntensitySeries& series, double now_unix_s);

std::string format_plan(const PlanOutcome& outcome, const std::string& series_name);

}  // namespace carbonmeter::cli
