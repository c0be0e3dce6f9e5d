// The calculators that mirror the command line: estimate (`carbonmeter estimate --json`), plan
// (`carbonmeter plan --json`), the model card's co2_eq_emissions, and the parsers of durations and
// timestamps the Python layer hands its strings to.
#include <fmt/format.h>
#include <pybind11/stl.h>

#include <cmath>
#include <map>
#include <set>

#include "binding.hpp"
#include "carbon/timestamp.hpp"
#include "carbonmeter/version.hpp"
#include "core/roots.hpp"
#include "core/run_report.hpp"
#include "core/tracker_impl.hpp"
#include "estimate/duration.hpp"
#include "estimate/estimate.hpp"
#include "outputs/model_card.hpp"
#include "outputs/model_card_emissions.hpp"
#include "plan/plan_query.hpp"

namespace carbonmeter::python {
namespace {

using nlohmann::json;

py::object estimate(std::optional<std::string> hardware, int count, std::optional<double> power_w,
                    std::optional<double> gpu_utilization, std::optional<std::string> cpu,
                    std::optional<int> cores, std::optional<double> cpu_utilization,
                    std::optional<double> memory_gb, std::optional<double> hours,
                    std::optional<double> energy_kwh, std::optional<double> start_unix_s,
                    const std::shared_ptr<Location>& location) {
  EstimateInputs in;
  in.hardware = std::move(hardware);
  in.count = count;
  in.power_w = power_w;
  in.gpu_utilization = gpu_utilization;
  in.cpu = std::move(cpu);
  in.cores = cores;
  in.cpu_utilization = cpu_utilization;
  in.memory_gb = memory_gb;
  in.hours = hours;
  in.energy_kwh = energy_kwh;
  in.start_unix_s = start_unix_s;
  for (auto [name, value] : {std::pair{"power_w", power_w}, std::pair{"gpu_utilization", gpu_utilization},
                             std::pair{"cpu_utilization", cpu_utilization}, std::pair{"memory_gb", memory_gb},
                             std::pair{"hours", hours}, std::pair{"energy_kwh", energy_kwh}})
    if (value && !std::isfinite(*value))
      throw_value_error(fmt::format("{}={}: give a finite number", name, *value));
  const std::string dir = data_dir();
  auto accelerators = cached_table<AcceleratorTable>(
      dir, [](const std::string& d) { return AcceleratorTable::load_from(d); });
  auto cpus = cached_table<CpuTdpTable>(
      dir, [](const std::string& d) { return CpuTdpTable::load(d + "/cpu_tdp.csv"); });
  auto result = estimate_emissions(in, location->resolved, *reference_data(), *accelerators, *cpus);
  if (!result) throw_value_error(result.error().message);
  return to_python(estimate_json(result.value()));
}

// `carbonmeter plan --json`, with the keywords' names in the errors about them.
py::object plan(const std::string& intensity_series, double duration_s, const std::string& strategy,
                std::optional<double> window_s, double not_before_unix_s, std::optional<double> min_run_s,
                double pause_cost_g, double power_w) {
  if (strategy != "flexible-start" && strategy != "pause-resume")
    throw_value_error("strategy='" + strategy + "': use 'flexible-start' or 'pause-resume'");
  auto seconds = [](const char* name, double value, bool positive) {
    if (!std::isfinite(value) || value < 0 || (positive && value == 0))
      throw_value_error(
          fmt::format("{}: {} s is not a duration{}", name, value, positive ? " longer than 0" : ""));
    return value;
  };
  PlanRequest r;
  r.duration_s = seconds("duration", duration_s, true);
  r.window_s = window_s ? seconds("window", *window_s, false) : kDefaultPlanWindow_s;
  r.min_run_s = min_run_s ? seconds("min_run", *min_run_s, false) : 0.0;
  r.pause_cost_g = pause_cost_g;
  r.power_w = power_w;
  if (!std::isfinite(r.pause_cost_g) || r.pause_cost_g < 0)
    throw_value_error(fmt::format("pause_cost_g={}: give grams CO2e, 0 or more", r.pause_cost_g));
  if (!std::isfinite(r.power_w) || r.power_w <= 0)
    throw_value_error(fmt::format("power_w={}: give the job's average power in W, more than 0", r.power_w));
  if (!std::isfinite(not_before_unix_s)) throw_value_error("not_before: not a time");
  r.not_before_unix_s = not_before_unix_s;

  auto series = IntensitySeries::load(intensity_series);
  if (!series) throw_value_error(series.error().message);
  auto made = make_plan(series.value(), strategy, r);
  if (!made) throw_value_error(made.error().message);
  return to_python(plan_json(made.value()));
}

py::bytes model_card_text(const std::string& card, const std::string& report_json,
                          const std::string& training_type) {
  const json run = json::parse(report_json, nullptr, false);
  if (run.is_discarded() || !run.is_object() || !run.contains("energy_j"))
    throw_value_error("not a carbonmeter run report (give a RunResult or its .report)");
  auto emissions = model_card_emissions(run, training_type);
  if (!emissions) throw_value_error(emissions.error().message);
  return py::bytes(update_model_card(card, emissions.value()));
}

double duration_s(const std::string& text, const std::string& name) {
  auto hours = parse_duration_hours(text);
  if (!hours) {
    std::string message = hours.error().message;
    if (message.rfind("--duration", 0) == 0) message.replace(0, 10, name);
    throw_value_error(message);
  }
  return hours.value() * 3600.0;
}

std::optional<double> timestamp(const std::string& text) { return parse_timestamp(text); }

}  // namespace

void register_calculators(py::module_& m) {
  m.def("estimate", &estimate, py::kw_only(), py::arg("hardware"), py::arg("count"), py::arg("power_w"),
        py::arg("gpu_utilization"), py::arg("cpu"), py::arg("cores"), py::arg("cpu_utilization"),
        py::arg("memory_gb"), py::arg("hours"), py::arg("energy_kwh"), py::arg("start_unix_s"),
        py::arg("location"), "The keys of `carbonmeter estimate --json`.");
  m.def("plan", &plan, py::kw_only(), py::arg("intensity_series"), py::arg("duration_s"), py::arg("strategy"),
        py::arg("window_s"), py::arg("not_before_unix_s"), py::arg("min_run_s"), py::arg("pause_cost_g"),
        py::arg("power_w"), "The keys of `carbonmeter plan --json`.");
  m.def("model_card_text", &model_card_text, py::arg("card"), py::arg("report_json"),
        py::arg("training_type"),
        "The card's new text with the run's co2_eq_emissions block; every other byte kept.");
  m.def("parse_duration_s", &duration_s, py::arg("text"), py::arg("name"),
        "Seconds in '48h', '3d4h', '1h30m', '90m'; ValueError naming `name` otherwise.");
  m.def("parse_timestamp", &timestamp, py::arg("text"),
        "Unix seconds of an ISO 8601 time with an offset or of Unix seconds as text; None otherwise.");
  m.def("unix_now_s", &unix_now_s, "The time now in Unix seconds, as the core reads it.");
}

}  // namespace carbonmeter::python
