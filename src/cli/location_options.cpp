#include "cli/location_options.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>

#include "cli/commands.hpp"

namespace carbonmeter::cli {

namespace {

// CLI::Range lets NaN through (every comparison with it is false); a number must be finite here.
CLI::Validator finite_range(double low, double high) {
  return CLI::Validator(
      [low, high](std::string& text) -> std::string {
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0' || !std::isfinite(value) || value < low || value > high)
          return "'" + text + "' is not a number from " + fmt::format("{}", low) + " to " +
                 fmt::format("{}", high);
        return "";
      },
      fmt::format("NUMBER in [{} - {}]", low, high));
}

CLI::Validator non_empty(const char* what) {
  return CLI::Validator(
      [what](std::string& text) -> std::string {
        return text.find_first_not_of(" \t") == std::string::npos ? std::string("empty: give ") + what : "";
      },
      "");
}

}  // namespace

void add_location_options(CLI::App& command, LocationFlags& flags) {
  command
      .add_option("--carbon-intensity", flags.carbon_intensity,
                  "Grid carbon intensity in gCO2e/kWh (most explicit)")
      ->check(finite_range(0.0, 5000.0));
  command
      .add_option(
          "--intensity-series", flags.intensity_series,
          "CSV of intensity over time: FILE[:COLUMN] (timestamps ISO 8601 with offset, or Unix seconds)")
      ->check(non_empty("a CSV file"));
  command
      .add_option("--cloud", flags.cloud, "Cloud region PROVIDER:REGION, e.g. gcp:us-central1 (its PUE too)")
      ->check(non_empty("PROVIDER:REGION"));
  command.add_option("--zone", flags.zone, "Grid zone, e.g. US-CAL-CISO, SE3, CA-QC")
      ->check(non_empty("a zone"));
  command.add_option("--country", flags.country, "Country, ISO 3166 code (FRA or FR)")
      ->check(non_empty("an ISO 3166 code"));
  command.add_option("--pue", flags.pue, "Power usage effectiveness of the data centre (1 on-premises)")
      ->check(finite_range(1.0, 5.0));
  command.add_option("--wue", flags.wue, "Water usage effectiveness in litres per kWh")
      ->check(finite_range(0.0, 100.0));
  command.add_flag("--marginal", flags.marginal,
                   "Use the country's marginal (combined-margin) factor instead of its average intensity");
}

ResolvedLocation resolve_location_flags(const LocationFlags& flags) {
  LocationOptions options;
  if (flags.carbon_intensity >= 0)
    options.carbon_intensity_g_per_kwh = {flags.carbon_intensity, "--carbon-intensity"};
  if (!flags.intensity_series.empty())
    options.intensity_series = {flags.intensity_series, "--intensity-series"};
  if (!flags.cloud.empty()) options.cloud = {flags.cloud, "--cloud"};
  if (!flags.zone.empty()) options.zone = {flags.zone, "--zone"};
  if (!flags.country.empty()) options.country = {flags.country, "--country"};
  if (flags.pue >= 1) options.pue = {flags.pue, "--pue"};
  if (flags.wue >= 0) options.wue_l_per_kwh = {flags.wue, "--wue"};
  options.marginal = flags.marginal;
  if (auto completed = complete_location_options(options); !completed)
    throw UsageError(completed.error().message);
  if (options.intensity_series.value)
    check_input_file(series_file(*options.intensity_series.value), options.intensity_series.origin);
  auto data = ReferenceData::load();
  if (!data)
    throw FatalError(data.error().message + " (set CARBONMETER_DATA_DIR to carbonmeter's data/ folder)");
  auto resolved = resolve_location(options, data.value());
  if (!resolved) throw UsageError(resolved.error().message);
  return std::move(resolved).value();
}

}  // namespace carbonmeter::cli
