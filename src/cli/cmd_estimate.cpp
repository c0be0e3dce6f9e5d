// carbonmeter estimate: the calculator for runs that were not measured (docs/estimate.md).
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <memory>

#include "carbon/timestamp.hpp"
#include "cli/commands.hpp"
#include "cli/location_options.hpp"
#include "core/number_format.hpp"
#include "core/roots.hpp"
#include "core/run_report.hpp"
#include "estimate/duration.hpp"
#include "estimate/estimate.hpp"

namespace carbonmeter::cli {
namespace {

struct EstimateFlags {
  std::string hardware;
  int count = 1;
  double power_w = 0;
  double gpu_utilization = 0;
  std::string cpu;
  int cores = 0;
  double cpu_utilization = 0;
  double memory_gb = 0;
  double hours = 0;
  std::string duration;
  double energy_kwh = 0;
  std::string start;
  LocationFlags location;
  bool json = false;
  bool list_hardware = false;
  std::string list_regions;
  std::map<std::string, CLI::Option*> given;
  bool was_given(const std::string& name) const { return given.at(name)->count() > 0; }
};

int list_hardware(const AcceleratorTable& table, bool json_output) {
  nlohmann::json rows = nlohmann::json::array();
  for (const Accelerator& a : table.rows())
    rows.push_back({{"name", a.name},
                    {"vendor", a.vendor},
                    {"kind", a.kind},
                    {"memory_gb", a.memory_gb ? nlohmann::json(*a.memory_gb) : nlohmann::json()},
                    {"power_w", a.power_w},
                    {"power_kind", power_kind_name(a.power_kind)},
                    {"source", a.source},
                    {"year", a.year}});
  if (json_output) {
    std::puts(dump_json(rows, 2).c_str());
    return 0;
  }
  for (const Accelerator& a : table.rows())
    std::printf("%-34s %6.0f W  %-16s %s\n", a.name.c_str(), a.power_w,
                std::string(power_kind_name(a.power_kind)).c_str(), a.source.c_str());
  return 0;
}

int list_regions(const std::string& provider, bool json_output) {
  auto data = ReferenceData::load();
  if (!data) throw FatalError(data.error().message);
  nlohmann::json rows = nlohmann::json::array();
  std::vector<std::string> providers;
  for (const CloudRegion& r : data.value().cloud_regions_with_figures()) {
    if (std::find(providers.begin(), providers.end(), r.provider) == providers.end())
      providers.push_back(r.provider);
    if (r.provider != provider) continue;
    rows.push_back({{"region", r.provider + ":" + r.region},
                    {"location", r.location},
                    {"g_per_kwh", r.intensity.g_per_kwh},
                    {"pue", r.pue > 0 ? nlohmann::json(r.pue) : nlohmann::json()},
                    {"source", r.intensity.source}});
  }
  if (rows.empty())
    throw UsageError(fmt::format("--list-regions '{}': not a known provider (known: {})", provider,
                                 fmt::join(providers, ", ")));
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a["g_per_kwh"] < b["g_per_kwh"]; });
  if (json_output) {
    std::puts(dump_json(rows, 2).c_str());
    return 0;
  }
  for (const auto& row : rows)
    std::printf("%-32s %7.1f g/kWh  PUE %-5s %s\n", row["region"].get<std::string>().c_str(),
                row["g_per_kwh"].get<double>(),
                row["pue"].is_null() ? "?" : fmt::format("{:.2f}", row["pue"].get<double>()).c_str(),
                row["location"].get<std::string>().c_str());
  return 0;
}

EstimateInputs inputs_from(const EstimateFlags& f) {
  EstimateInputs in;
  if (f.was_given("--hardware")) in.hardware = f.hardware;
  in.count = f.count;
  if (f.was_given("--power-w")) in.power_w = f.power_w;
  if (f.was_given("--gpu-utilization")) in.gpu_utilization = f.gpu_utilization;
  if (f.was_given("--cpu")) in.cpu = f.cpu;
  if (f.was_given("--cores")) in.cores = f.cores;
  if (f.was_given("--cpu-utilization")) in.cpu_utilization = f.cpu_utilization;
  if (f.was_given("--memory-gb")) {
    // A billion GB is beyond any job; larger figures are typing mistakes, not estimates.
    if (!(std::isfinite(f.memory_gb) && f.memory_gb > 0 && f.memory_gb <= 1e9))
      throw UsageError(
          fmt::format("--memory-gb {}: give the memory in GB (more than 0, at most 1e9)", f.memory_gb));
    in.memory_gb = f.memory_gb;
  }
  if (f.was_given("--hours")) in.hours = f.hours;
  if (f.was_given("--duration")) {
    auto hours = parse_duration_hours(f.duration);
    if (!hours) throw UsageError(hours.error().message);
    in.hours = hours.value();
  }
  if (f.was_given("--energy-kwh")) in.energy_kwh = f.energy_kwh;
  if (f.was_given("--start")) {
    auto start = parse_timestamp(f.start);
    if (!start)
      throw UsageError("--start '" + f.start +
                       "' is not a timestamp (ISO 8601 with offset, or Unix seconds)");
    in.start_unix_s = *start;
  }
  return in;
}

void print_estimate(const Estimate& e, const ResolvedLocation& location) {
  std::printf("carbonmeter estimate: calculated from published figures, not measured\n");
  for (const PowerPart& p : e.parts)
    std::printf(
        "  %-11s %s: %s W%s (%s, ±%.0f %%)\n", p.component.c_str(), p.what.c_str(),
        format_significant(p.power_w).c_str(),
        p.utilization != 1.0 ? fmt::format(" at {:.0f} % utilisation", p.utilization * 100).c_str() : "",
        p.how.c_str(), p.relative_uncertainty * 100);
  auto n = [](double value) { return format_significant(value); };
  if (e.hours > 0) std::printf("  time        %s h\n", n(e.hours).c_str());
  std::printf("  energy      %s kWh (IT), %s kWh with PUE %s (%s)\n", n(e.it_energy_kwh).c_str(),
              n(e.energy_kwh).c_str(), n(e.pue).c_str(), e.pue_source.c_str());
  std::printf("  intensity   %.1f gCO2e/kWh (%s%s)\n", e.intensity_g_per_kwh, e.intensity_how.c_str(),
              location.guessed ? " — a GUESS" : "");
  std::printf("  emissions   %s kg CO2e, range %s to %s kg (±%.0f %%: energy ±%.0f %%, intensity ±%.0f %%)\n",
              n(e.emissions_kg).c_str(), n(e.low_kg).c_str(), n(e.high_kg).c_str(),
              e.relative_uncertainty * 100, e.energy_relative_uncertainty * 100,
              e.intensity_relative_uncertainty * 100);
  std::printf("  formula     %s\n", e.formula.c_str());
  if (e.water_l > 0) std::printf("  water       %s L\n", n(e.water_l).c_str());
  for (const Equivalent& q : e.equivalents)
    std::printf("  ≈ %s (%s, %s)\n", equivalent_phrase(q).c_str(), q.source.c_str(), q.vintage.c_str());
  if (!e.alternatives.empty()) {
    std::printf("  had this run elsewhere%s:\n",
                location.cloud_region.empty()
                    ? ""
                    : fmt::format(" ({}'s lowest-carbon regions)", location.cloud_provider).c_str());
    for (const Alternative& a : e.alternatives)
      std::printf("    %-28s %10s kg CO2e  (%.0f g/kWh, PUE %s) %s\n", a.location.c_str(),
                  n(a.emissions_kg).c_str(), a.intensity_g_per_kwh, n(a.pue).c_str(), a.name.c_str());
  }
  for (const std::string& note : e.notes) std::printf("  note: %s\n", note.c_str());
}

int estimate(const EstimateFlags& flags) {
  auto accelerators = AcceleratorTable::load();
  if (!accelerators)
    throw FatalError(accelerators.error().message +
                     " (set CARBONMETER_DATA_DIR to carbonmeter's data/ folder)");
  if (flags.list_hardware) return list_hardware(accelerators.value(), flags.json);
  if (flags.given.at("--list-regions")->count() > 0) {
    std::string provider;
    for (char c : flags.list_regions)
      provider += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return list_regions(provider, flags.json);
  }
  const EstimateInputs inputs = inputs_from(flags);
  if (inputs.start_unix_s && flags.location.intensity_series.empty())
    throw UsageError("--start goes with --intensity-series: it says where in the series the run began");
  auto cpus = CpuTdpTable::load(data_dir() + "/cpu_tdp.csv");
  if (!cpus) throw FatalError(cpus.error().message);
  const ResolvedLocation location = resolve_location_flags(flags.location);
  auto data = ReferenceData::load();
  if (!data) throw FatalError(data.error().message);
  auto result = estimate_emissions(inputs, location, data.value(), accelerators.value(), cpus.value());
  if (!result) throw UsageError(result.error().message);
  if (flags.json)
    std::puts(dump_json(estimate_json(result.value()), 2).c_str());
  else
    print_estimate(result.value(), location);
  return 0;
}

}  // namespace

void add_estimate_command(CLI::App& app, int& exit_code) {
  auto f = std::make_shared<EstimateFlags>();
  CLI::App* cmd = app.add_subcommand(
      "estimate",
      "Calculate the energy and emissions of a run that was not measured (hardware × hours × place)");
  auto& given = f->given;
  given["--hardware"] =
      cmd->add_option("--hardware", f->hardware,
                      "Accelerator name, e.g. \"H100 SXM\", a100-80gb, \"Titan V\", mi300x, \"tpu v4\"");
  cmd->add_option("--count", f->count, "How many accelerators (default 1)");
  given["--power-w"] =
      cmd->add_option("--power-w", f->power_w, "Power of one accelerator in W (overrides the table)");
  given["--gpu-utilization"] = cmd->add_option("--gpu-utilization", f->gpu_utilization,
                                               "Average accelerator load, 0 to 1 (default 1)");
  given["--cpu"] =
      cmd->add_option("--cpu", f->cpu, "CPU model, e.g. \"Xeon Gold 6248\", \"EPYC 7763\" (TDP table)");
  given["--cores"] = cmd->add_option("--cores", f->cores, "CPU cores used (default: all of --cpu's)");
  given["--cpu-utilization"] =
      cmd->add_option("--cpu-utilization", f->cpu_utilization, "Average CPU load, 0 to 1 (default 1)");
  given["--memory-gb"] = cmd->add_option("--memory-gb", f->memory_gb, "Memory in GB (0.3725 W per GB)");
  given["--hours"] = cmd->add_option("--hours", f->hours, "How long it ran, in hours");
  given["--duration"] = cmd->add_option("--duration", f->duration, "How long it ran: 48h, 3d4h, 1h30m");
  given["--energy-kwh"] =
      cmd->add_option("--energy-kwh", f->energy_kwh, "The IT energy in kWh, if known (instead of hardware)");
  given["--start"] = cmd->add_option("--start", f->start, "When it started (for --intensity-series)");
  cmd->get_option("--hours")->excludes(given["--duration"]);
  add_location_options(*cmd, f->location);
  cmd->add_flag("--json", f->json, "Print JSON");
  cmd->add_flag("--list-hardware", f->list_hardware, "List the accelerators with their power");
  given["--list-regions"] = cmd->add_option("--list-regions", f->list_regions,
                                            "List a cloud provider's regions (aws, gcp, azure, ...)");
  cmd->callback([f, &exit_code] { exit_code = estimate(*f); });
}

}  // namespace carbonmeter::cli
