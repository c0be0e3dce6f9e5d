// Where and when the electricity came from. Settings come from command-line flags, then
// CARBONMETER_* environment variables, then carbonmeter.toml (working directory, then
// ~/.config/carbonmeter/); the most explicit one wins: --carbon-intensity, --intensity-series,
// --cloud, --zone, --country, and with none of them a guess (time zone, DMI) that says so.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "carbon/intensity_series.hpp"
#include "carbon/reference_data.hpp"
#include "carbonmeter/result.hpp"

namespace carbonmeter {

template <class T>
struct Setting {
  std::optional<T> value;
  std::string origin;  // "--country", "CARBONMETER_COUNTRY", "./carbonmeter.toml"
};

struct LocationOptions {
  Setting<double> carbon_intensity_g_per_kwh;
  Setting<std::string> intensity_series;
  Setting<std::string> cloud;  // "gcp:us-central1"
  Setting<std::string> zone;
  Setting<std::string> country;
  Setting<double> pue;
  Setting<double> wue_l_per_kwh;
  bool marginal = false;  // the country's marginal (combined-margin) factor instead of its average
  std::vector<std::string> warnings;  // e.g. unknown keys in the config file
};

// Fills what the flags left empty from the environment and the config file; errors name the
// variable or file and line. The place (intensity, series, cloud, zone, country) comes whole from
// the most explicit source that names one: flags, then variables, then the file.
Status complete_location_options(LocationOptions& options);

// Fills what is still empty from one carbonmeter.toml (what complete_location_options does with the
// file it finds); errors and warnings name the file and line.
Status read_location_config_file(LocationOptions& options, const std::string& path);

struct ResolvedLocation {
  std::string how;  // "--country FRA", "guess: time zone Europe/Paris", ...
  bool guessed = false;
  std::string country_iso3;
  std::string country_name;
  std::string region;  // zone, or cloud region
  std::string cloud_provider;
  std::string cloud_region;
  std::optional<IntensityFigure> constant;
  std::shared_ptr<const IntensitySeries> series;
  std::optional<IntensityFigure> series_fallback;  // a constant given beside the series
  double intensity_relative_uncertainty = 0.0;     // of the series when there is one
  double fallback_relative_uncertainty = 0.0;      // of series_fallback
  double pue = 1.0;
  std::string pue_source = "default for on-premises machines";
  double wue_l_per_kwh = 0.0;
  std::string wue_source = "none given";
  std::vector<std::string> notes;
};

Result<ResolvedLocation> resolve_location(const LocationOptions& options, const ReferenceData& data);

// The system's time zone (TZ, /etc/timezone, /etc/localtime), or "".
std::string system_timezone();
// "gcp", "aws", "azure" from /sys/class/dmi/id (under CARBONMETER_SYSFS_ROOT), or "".
std::string detect_cloud_provider();

}  // namespace carbonmeter
