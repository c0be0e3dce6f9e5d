#include "carbon/location.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "core/roots.hpp"
#include "core/text_file.hpp"

namespace carbonmeter {
namespace {

// How far a yearly average can be from the intensity of a given hour (docs/carbon.md).
constexpr double kConstantUncertainty = 0.0;  // the user's own figure
constexpr double kSeriesUncertainty = 0.10;
constexpr double kZoneUncertainty = 0.20;
constexpr double kCountryUncertainty = 0.25;
constexpr double kGuessedCountryUncertainty = 0.35;
constexpr double kWorldUncertainty = 0.50;

Result<double> parse_number(const std::string& text, const std::string& origin, double low, double high) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(value) || value < low ||
      value > high)
    return Error{fmt::format("{}: '{}' is not a number from {} to {}", origin, text, low, high)};
  return value;
}

template <class T>
void fill(Setting<T>& setting, const std::optional<T>& value, const std::string& origin) {
  if (!setting.value && value) setting = {value, origin};
}

bool names_a_place(const LocationOptions& o) {
  return o.carbon_intensity_g_per_kwh.value || o.intensity_series.value || o.cloud.value || o.zone.value ||
         o.country.value;
}

// A source that names a place replaces the place of every less explicit source as a whole:
// `--country FRA` is not overridden by CARBONMETER_CARBON_INTENSITY, nor a variable by the file.
Status from_environment(LocationOptions& o) {
  const bool place_given = names_a_place(o);
  auto text = [&](const char* name, bool is_place = true) -> std::optional<std::string> {
    if (is_place && place_given) return std::nullopt;
    const char* value = std::getenv(name);
    return value && *value ? std::optional<std::string>(value) : std::nullopt;
  };
  auto number = [&](const char* name, Setting<double>& setting, double low, double high,
                    bool is_place = false) -> Status {
    if (setting.value) return Ok{};
    if (auto value = text(name, is_place)) {
      auto parsed = parse_number(*value, name, low, high);
      if (!parsed) return parsed.error();
      setting = {parsed.value(), name};
    }
    return Ok{};
  };
  if (auto s = number("CARBONMETER_CARBON_INTENSITY", o.carbon_intensity_g_per_kwh, 0, 5000, true); !s)
    return s;
  if (auto s = number("CARBONMETER_PUE", o.pue, 1, 5); !s) return s;
  if (auto s = number("CARBONMETER_WUE", o.wue_l_per_kwh, 0, 100); !s) return s;
  fill(o.intensity_series, text("CARBONMETER_INTENSITY_SERIES"), "CARBONMETER_INTENSITY_SERIES");
  fill(o.cloud, text("CARBONMETER_CLOUD"), "CARBONMETER_CLOUD");
  fill(o.zone, text("CARBONMETER_ZONE"), "CARBONMETER_ZONE");
  fill(o.country, text("CARBONMETER_COUNTRY"), "CARBONMETER_COUNTRY");
  return Ok{};
}

constexpr const char* kConfigKeys[] = {
    "carbon_intensity", "intensity_series", "cloud", "zone", "country", "pue", "wue"};

Status from_config_file(LocationOptions& o, const std::string& path) {
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& error) {
    return Error{fmt::format("{}:{}: {}", path, error.source().begin.line, std::string(error.description()))};
  }
  for (const auto& [key, value] : table) {
    const std::string_view name = key.str();
    if (std::find(std::begin(kConfigKeys), std::end(kConfigKeys), name) == std::end(kConfigKeys))
      o.warnings.push_back(fmt::format("{}:{}: unknown key '{}' ignored (known: {})", path,
                                       value.source().begin.line, name, fmt::join(kConfigKeys, ", ")));
  }
  const bool place_given = names_a_place(o);
  const std::filesystem::path directory = std::filesystem::path(path).parent_path();
  auto text = [&](const char* key, Setting<std::string>& setting) -> Status {
    if (!table.contains(key)) return Ok{};
    auto value = table[key].value<std::string>();
    if (!value || value->empty())
      return Error{fmt::format("{}:{}: {} must be a non-empty string (in quotes)", path,
                               table[key].node()->source().begin.line, key)};
    if (!setting.value && !place_given) setting = {*value, path};
    return Ok{};
  };
  auto number = [&](const char* key, Setting<double>& setting, double low, double high,
                    bool is_place = false) -> Status {
    if (!table.contains(key)) return Ok{};
    auto value = table[key].value<double>();
    if (!value || !std::isfinite(*value) || *value < low || *value > high)
      return Error{fmt::format("{}:{}: {} must be a number from {} to {}", path,
                               table[key].node()->source().begin.line, key, low, high)};
    if (!setting.value && !(is_place && place_given)) setting = {*value, path};
    return Ok{};
  };
  if (auto s = number("carbon_intensity", o.carbon_intensity_g_per_kwh, 0, 5000, true); !s) return s;
  if (auto s = number("pue", o.pue, 1, 5); !s) return s;
  if (auto s = number("wue", o.wue_l_per_kwh, 0, 100); !s) return s;
  for (auto [key, setting] :
       {std::pair{"intensity_series", &o.intensity_series}, std::pair{"cloud", &o.cloud},
        std::pair{"zone", &o.zone}, std::pair{"country", &o.country}})
    if (auto s = text(key, *setting); !s) return s;
  // A series named in the file is found beside the file, not beside the working directory.
  if (o.intensity_series.origin == path && std::filesystem::path(*o.intensity_series.value).is_relative())
    o.intensity_series.value = (directory / *o.intensity_series.value).string();
  return Ok{};
}

std::string trimmed_file(const std::string& path) {
  auto text = read_text_file(path);
  return text ? std::string(trim(text.value())) : "";
}

ResolvedLocation from_figure(const IntensityFigure& figure, std::string how, double uncertainty) {
  ResolvedLocation out;
  out.how = std::move(how);
  out.constant = figure;
  out.intensity_relative_uncertainty = uncertainty;
  return out;
}

}  // namespace

Status read_location_config_file(LocationOptions& options, const std::string& path) {
  return from_config_file(options, path);
}

Status complete_location_options(LocationOptions& options) {
  if (auto s = from_environment(options); !s) return s;
  std::vector<std::string> candidates{"carbonmeter.toml"};
  if (const char* config = std::getenv("XDG_CONFIG_HOME"); config && *config && config[0] == '/')
    candidates.push_back(std::string(config) + "/carbonmeter/carbonmeter.toml");
  if (const char* home = std::getenv("HOME"); home && *home)
    candidates.push_back(std::string(home) + "/.config/carbonmeter/carbonmeter.toml");
  for (const std::string& path : candidates) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(path, ec)) return from_config_file(options, path);
  }
  return Ok{};
}

std::string system_timezone() {
  if (const char* tz = std::getenv("TZ"); tz && *tz) {
    std::string zone = tz[0] == ':' ? tz + 1 : tz;
    // TZ may name the zone file itself: /usr/share/zoneinfo/Europe/Paris.
    if (auto at = zone.find("zoneinfo/"); zone[0] == '/' && at != std::string::npos)
      zone = zone.substr(at + 9);
    return zone;
  }
  if (std::string zone = trimmed_file("/etc/timezone"); !zone.empty()) return zone;
  std::error_code ec;
  const std::string target = std::filesystem::read_symlink("/etc/localtime", ec).string();
  if (auto at = target.find("zoneinfo/"); !ec && at != std::string::npos) return target.substr(at + 9);
  return "";
}

std::string detect_cloud_provider() {
  const std::string dmi = sysfs_root() + "/class/dmi/id/";
  const std::string vendor = trimmed_file(dmi + "sys_vendor"), product = trimmed_file(dmi + "product_name"),
                    bios = trimmed_file(dmi + "bios_vendor");
  if (vendor.find("Google") != std::string::npos ||
      product.find("Google Compute Engine") != std::string::npos)
    return "gcp";
  if (vendor.find("Amazon") != std::string::npos || bios.find("Amazon") != std::string::npos) return "aws";
  if (vendor.find("Microsoft") != std::string::npos && product.find("Virtual Machine") != std::string::npos)
    return "azure";
  return "";
}

Result<ResolvedLocation> resolve_location(const LocationOptions& o, const ReferenceData& data) {
  auto apply_pue_wue = [&](ResolvedLocation& out) {
    out.notes.insert(out.notes.begin(), o.warnings.begin(), o.warnings.end());
    if (o.pue.value) {
      out.pue = *o.pue.value;
      out.pue_source = o.pue.origin;
    }
    if (o.wue_l_per_kwh.value) {
      out.wue_l_per_kwh = *o.wue_l_per_kwh.value;
      out.wue_source = o.wue_l_per_kwh.origin;
    }
    return out;
  };

  // The places named, resolved once: a series may fall back on the next most explicit one.
  std::optional<ResolvedLocation> constant_place;
  if (o.cloud.value) {
    const std::string& spec = *o.cloud.value;
    const auto colon = spec.find(':');
    if (colon == std::string::npos)
      return Error{
          o.cloud.origin + " '" + spec +
          "': write PROVIDER:REGION, e.g. gcp:us-central1 (see `carbonmeter intensity --list cloud`)"};
    auto region = data.cloud(spec.substr(0, colon), spec.substr(colon + 1));
    if (!region) {
      std::vector<std::string> known;
      for (const CloudRegion& r : data.cloud_regions()) known.push_back(r.provider + ":" + r.region);
      auto close = data.suggestions(spec, known);
      return Error{
          o.cloud.origin + " '" + spec + "' is not a known cloud region" +
          (close.empty() ? "" : " (did you mean " + fmt::format("{}", fmt::join(close, ", ")) + "?)") +
          "; see `carbonmeter intensity --list cloud`, or give --carbon-intensity"};
    }
    ResolvedLocation out = from_figure(region->intensity, o.cloud.origin + " " + spec, kZoneUncertainty);
    out.cloud_provider = region->provider;
    out.cloud_region = region->region;
    out.region = region->region;
    out.country_iso3 = region->iso3;
    out.country_name = data.country_name(region->iso3);
    if (region->pue > 0) {
      out.pue = region->pue;
      out.pue_source = region->pue_source;
    }
    if (region->wue_l_per_kwh >= 0) {
      out.wue_l_per_kwh = region->wue_l_per_kwh;
      out.wue_source = region->wue_source;
    }
    constant_place = out;
  } else if (o.zone.value) {
    auto zone = data.zone(*o.zone.value);
    if (!zone) {
      std::vector<std::string> known;
      for (const Place& p : data.zones()) known.push_back(p.code);
      auto close = data.suggestions(*o.zone.value, known);
      return Error{
          o.zone.origin + " '" + *o.zone.value + "' is not a known grid zone" +
          (close.empty() ? "" : " (did you mean " + fmt::format("{}", fmt::join(close, ", ")) + "?)") +
          "; see `carbonmeter intensity --list zones`"};
    }
    ResolvedLocation out = from_figure(zone->intensity, o.zone.origin + " " + zone->code, kZoneUncertainty);
    out.region = zone->code;
    out.country_iso3 = zone->iso3;
    out.country_name = data.country_name(zone->iso3);
    constant_place = out;
  } else if (o.country.value) {
    auto country = data.country(*o.country.value);
    if (!country) {
      std::vector<std::string> known;
      for (const Place& p : data.countries()) known.push_back(p.code);
      return Error{o.country.origin + " '" + *o.country.value +
                   "' is not a known country: use its ISO 3166 code (FRA or FR); see `carbonmeter intensity "
                   "--list countries`"};
    }
    ResolvedLocation out =
        from_figure(country->intensity, o.country.origin + " " + country->code, kCountryUncertainty);
    out.country_iso3 = country->code;
    out.country_name = country->name;
    constant_place = out;
  }

  if (o.carbon_intensity_g_per_kwh.value) {
    // The user's figure replaces the place's intensity only: a named cloud region keeps its PUE,
    // WUE and location columns.
    ResolvedLocation given = from_figure(
        {*o.carbon_intensity_g_per_kwh.value, 0, "given", "given", "user"},
        fmt::format("{} {} g/kWh", o.carbon_intensity_g_per_kwh.origin, *o.carbon_intensity_g_per_kwh.value),
        kConstantUncertainty);
    if (constant_place) {
      given.how += " (in " + constant_place->how + ")";
      given.country_iso3 = constant_place->country_iso3;
      given.country_name = constant_place->country_name;
      given.region = constant_place->region;
      given.cloud_provider = constant_place->cloud_provider;
      given.cloud_region = constant_place->cloud_region;
      given.pue = constant_place->pue;
      given.pue_source = constant_place->pue_source;
      given.wue_l_per_kwh = constant_place->wue_l_per_kwh;
      given.wue_source = constant_place->wue_source;
    }
    constant_place = given;
  }
  if (o.marginal) {
    if (!constant_place || constant_place->country_iso3.empty() || o.carbon_intensity_g_per_kwh.value)
      return Error{"--marginal needs a place: --country, --zone or --cloud"};
    auto marginal = data.marginal(constant_place->country_iso3);
    if (!marginal)
      return Error{"--marginal: no published marginal factor for " + constant_place->country_iso3 +
                   " (see data/SOURCES.md); leave --marginal out for the average"};
    constant_place->constant = marginal->intensity;
    constant_place->how += " (marginal factor of " + constant_place->country_iso3 + ")";
  }
  if (o.intensity_series.value) {
    auto series = IntensitySeries::load(*o.intensity_series.value);
    if (!series) return series.error();
    ResolvedLocation out = constant_place.value_or(ResolvedLocation{});
    out.how = o.intensity_series.origin + " " + *o.intensity_series.value;
    out.series = std::make_shared<const IntensitySeries>(std::move(series).value());
    out.series_fallback = constant_place ? constant_place->constant : std::nullopt;
    out.fallback_relative_uncertainty = constant_place ? constant_place->intensity_relative_uncertainty : 0.0;
    out.constant.reset();
    out.intensity_relative_uncertainty = kSeriesUncertainty;
    if (out.series_fallback)
      out.notes.push_back("outside the series' coverage, " + constant_place->how + " is used");
    return apply_pue_wue(out);
  }
  if (constant_place) return apply_pue_wue(*constant_place);

  // Nothing given: guess, offline, and say so.
  ResolvedLocation out;
  out.guessed = true;
  const std::string provider = detect_cloud_provider();
  const std::string timezone = system_timezone();
  auto iso3 = timezone.empty() ? std::nullopt : data.country_of_timezone(timezone);
  auto country = iso3 ? data.country(*iso3) : std::nullopt;
  if (country) {
    out = from_figure(country->intensity, "guess: time zone " + timezone + " → " + country->code,
                      kGuessedCountryUncertainty);
    out.guessed = true;
    out.country_iso3 = country->code;
    out.country_name = country->name;
    out.notes.push_back("location GUESSED from the time zone " + timezone + " (" + country->name +
                        "): pass --country, --zone or --cloud to be sure");
  } else {
    auto world = data.country("WORLD");
    if (!world) return Error{"shipped data lacks the WORLD average: reinstall carbonmeter"};
    out = from_figure(world->intensity, "world average (location unknown)", kWorldUncertainty);
    out.guessed = true;
    out.notes.push_back("location unknown" +
                        (timezone.empty() ? std::string() : " (time zone " + timezone + ")") +
                        ": the WORLD average is used; pass --country, --zone or --cloud");
  }
  if (!provider.empty()) {
    out.cloud_provider = provider;
    out.notes.push_back("running on " + provider +
                        " (from DMI); its region is unknown offline: pass --cloud " + provider +
                        ":REGION for the region's intensity and PUE");
    if (auto pue = data.typical_pue(provider)) {
      out.pue = *pue;
      out.pue_source = fmt::format("guess: median PUE of {}'s regions in the shipped data", provider);
    }
  }
  return apply_pue_wue(out);
}

}  // namespace carbonmeter
