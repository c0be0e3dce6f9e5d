#include "carbon/emissions.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "core/csv.hpp"
#include "core/roots.hpp"

namespace carbonmeter {
namespace {

double relative_energy_uncertainty(const RunReport& report) {
  const double total = report.energy_j.total();
  if (total <= 0) return 0.0;
  double absolute = 0.0;
  for (Component c : kComponents)
    absolute += report.energy_j[c] * report.header.methods[c].relative_uncertainty;
  return absolute / total;
}

}  // namespace

SampleCarbon sample_carbon(const Sample& sample, double run_start_unix_s, const ResolvedLocation& location) {
  SampleCarbon carbon;
  const double energy_kwh = sample.energy_j.total() / kJoulesPerKwh * location.pue;
  if (!location.series) {
    carbon.intensity_g_per_kwh = location.constant ? location.constant->g_per_kwh : 0.0;
    carbon.emissions_g = energy_kwh * carbon.intensity_g_per_kwh;
    carbon.covered_energy_kwh = energy_kwh;
    return carbon;
  }
  const double to = run_start_unix_s + sample.t_s, from = to - sample.dt_s;
  const SeriesIntegral integral = location.series->integrate(from, to);
  double weighted = integral.g_per_kwh_seconds;
  if (integral.uncovered_s > 0) {
    if (location.series_fallback) {
      weighted += location.series_fallback->g_per_kwh * integral.uncovered_s;
      carbon.fallback_s = integral.uncovered_s;
    } else {
      carbon.uncovered_s = integral.uncovered_s;
    }
  }
  const double known_s = integral.covered_s + (location.series_fallback ? integral.uncovered_s : 0.0);
  carbon.intensity_g_per_kwh = known_s > 0 ? weighted / known_s : std::numeric_limits<double>::quiet_NaN();
  // Energy of an uncovered stretch gets no intensity: it is reported as missing instead.
  const double covered_fraction = sample.dt_s > 0 ? std::min(1.0, known_s / sample.dt_s) : 1.0;
  carbon.emissions_g = known_s > 0 ? energy_kwh * covered_fraction * carbon.intensity_g_per_kwh : 0.0;
  carbon.covered_energy_kwh = energy_kwh * covered_fraction;
  return carbon;
}

Result<CarbonAccount> account_emissions(const RunReport& report, const ResolvedLocation& location) {
  CarbonAccount account;
  account.intensity_min_g_per_kwh = std::numeric_limits<double>::infinity();
  account.intensity_max_g_per_kwh = 0.0;
  const double start = report.header.start_unix_s;
  for (const Sample& sample : report.samples) {
    const SampleCarbon carbon = sample_carbon(sample, start, location);
    account.emissions_g += carbon.emissions_g;
    account.covered_energy_kwh += carbon.covered_energy_kwh;
    account.fallback_s += carbon.fallback_s;
    account.uncovered_s += carbon.uncovered_s;
    account.sample_emissions_g.push_back(carbon.emissions_g);
    const double intensity = carbon.intensity_g_per_kwh;
    account.sample_intensity_g_per_kwh.push_back(intensity);
    if (std::isnan(intensity)) continue;  // not covered: no figure, not a zero
    account.intensity_min_g_per_kwh = std::min(account.intensity_min_g_per_kwh, intensity);
    account.intensity_max_g_per_kwh = std::max(account.intensity_max_g_per_kwh, intensity);
  }
  if (report.samples.empty()) {
    const double intensity = location.constant ? location.constant->g_per_kwh : 0.0;
    account.intensity_min_g_per_kwh = account.intensity_max_g_per_kwh = intensity;
    account.emissions_g = report.energy_j.total() / kJoulesPerKwh * location.pue * intensity;
  }
  account.it_energy_kwh = report.energy_j.total() / kJoulesPerKwh;
  account.energy_kwh = account.it_energy_kwh * location.pue;
  // Effective intensity over the energy that had one (all of it, unless a series left a part uncovered).
  const double accounted_kwh = location.series ? account.covered_energy_kwh : account.energy_kwh;
  account.intensity_g_per_kwh = accounted_kwh > 0 ? account.emissions_g / accounted_kwh
                                                  : (location.constant ? location.constant->g_per_kwh : 0.0);
  if (!std::isfinite(account.intensity_min_g_per_kwh))
    account.intensity_min_g_per_kwh = account.intensity_max_g_per_kwh = account.intensity_g_per_kwh;
  account.energy_relative_uncertainty = relative_energy_uncertainty(report);
  // With a series, the time its fallback filled carries the fallback's (larger) uncertainty.
  double intensity_relative = location.intensity_relative_uncertainty;
  if (location.series && account.fallback_s > 0) {
    const double fallback_share = std::min(1.0, account.fallback_s / std::max(report.duration_s, 1e-9));
    intensity_relative = (1.0 - fallback_share) * location.intensity_relative_uncertainty +
                         fallback_share * location.fallback_relative_uncertainty;
  }
  account.intensity_relative_uncertainty = intensity_relative;
  account.relative_uncertainty = std::hypot(account.energy_relative_uncertainty, intensity_relative);
  account.low_g = account.emissions_g * std::max(0.0, 1.0 - account.relative_uncertainty);
  account.high_g = account.emissions_g * (1.0 + account.relative_uncertainty);
  // WUE is litres per kWh of IT energy (The Green Grid), so PUE does not enter here.
  account.water_l = account.it_energy_kwh * location.wue_l_per_kwh;
  account.equivalents = equivalents_of(account.emissions_g);
  return account;
}

std::optional<std::string> coverage_error(const CarbonAccount& account, const ResolvedLocation& location) {
  if (!(account.uncovered_s > 0) || !location.series) return std::nullopt;
  return fmt::format(
      "the intensity series {} does not cover {:.0f} s of the run (it spans {} to {}); the emissions "
      "of the covered part only are in the JSON report (emissions_complete: false) and nothing was "
      "added to emissions.csv: give a series that covers the run, or a fallback (--country, --zone, "
      "--cloud or --carbon-intensity) beside --intensity-series",
      location.series->name(), account.uncovered_s, format_iso8601_utc(location.series->start_unix_s()),
      format_iso8601_utc(location.series->end_unix_s()));
}

std::string equivalent_phrase(const Equivalent& e) {
  static const std::map<std::string, std::string> kPhrases = {
      {"car_km", "km driven by an average car"},
      {"smartphone_charge", "smartphone charges"},
      {"tv_hour", "hours of TV"},
      {"streaming_video_hour", "hours of video streaming"},
      {"tree_year", "tree-years of CO2 uptake"},
      {"flight_nyc_sfo", "passenger flights New York to San Francisco"},
      {"gasoline_gallon", "US gallons of petrol burnt"},
      {"us_household_day", "days of a US household's energy use"}};
  const auto phrase = kPhrases.find(e.item);
  const std::string amount =
      e.amount >= 100 ? fmt::format("{:.0f}", e.amount) : fmt::format("{:.3g}", e.amount);
  return amount + " " + (phrase != kPhrases.end() ? phrase->second : e.unit + " (" + e.item + ")");
}

std::vector<Equivalent> equivalents_of(double emissions_g) {
  std::vector<Equivalent> out;
  auto table = read_csv_file(data_dir() + "/equivalents.csv");
  if (!table) return out;
  const CsvTable& csv = table.value();
  const int item = csv.column("item"), unit = csv.column("unit"), factor = csv.column("g_co2e_per_unit"),
            vintage = csv.column("vintage"), source = csv.column("source");
  if (item < 0 || factor < 0) return out;
  for (const auto& row : csv.rows) {
    auto cell = [&](int i) {
      return i >= 0 && static_cast<std::size_t>(i) < row.size() ? row[static_cast<std::size_t>(i)] : "";
    };
    const double g_per_unit = parse_finite_number(cell(factor)).value_or(0);
    if (!(g_per_unit > 0)) continue;
    out.push_back(
        {cell(item), cell(unit), emissions_g / g_per_unit, g_per_unit, cell(vintage), cell(source)});
  }
  return out;
}

nlohmann::json equivalents_json(const std::vector<Equivalent>& equivalents) {
  nlohmann::json out = nlohmann::json::array();
  for (const Equivalent& e : equivalents)
    out.push_back({{"item", e.item},
                   {"unit", e.unit},
                   {"amount", e.amount},
                   {"g_co2e_per_unit", e.g_co2e_per_unit},
                   {"vintage", e.vintage},
                   {"source", e.source}});
  return out;
}

nlohmann::json carbon_json(const CarbonAccount& account, const ResolvedLocation& location) {
  using nlohmann::json;
  json intensity = {{"how", location.how},
                    {"guessed", location.guessed},
                    {"effective_g_per_kwh", account.intensity_g_per_kwh},
                    {"min_g_per_kwh", account.intensity_min_g_per_kwh},
                    {"max_g_per_kwh", account.intensity_max_g_per_kwh},
                    {"relative_uncertainty", account.intensity_relative_uncertainty}};
  if (location.constant)
    intensity.update({{"value_g_per_kwh", location.constant->g_per_kwh},
                      {"kind", location.constant->kind},
                      {"basis", location.constant->basis},
                      {"source", location.constant->source},
                      {"year", location.constant->year}});
  if (location.series)
    intensity.update({{"series", location.series->name()},
                      {"column", location.series->column()},
                      {"series_step_s", location.series->step_s()},
                      {"fallback_s", account.fallback_s},
                      {"uncovered_s", account.uncovered_s}});
  const json equivalents = equivalents_json(account.equivalents);
  return {{"emissions_g", account.emissions_g},
          {"emissions_kg", account.emissions_g / 1000.0},
          {"emissions_range_g", {account.low_g, account.high_g}},
          {"emissions_relative_uncertainty", account.relative_uncertainty},
          {"emissions_complete", !(account.uncovered_s > 0)},
          {"energy_relative_uncertainty", account.energy_relative_uncertainty},
          {"energy_with_pue_kwh", account.energy_kwh},
          {"pue", location.pue},
          {"pue_source", location.pue_source},
          {"wue_l_per_kwh", location.wue_l_per_kwh},
          {"water_l", account.water_l},
          {"intensity", intensity},
          {"location",
           {{"country_iso3", location.country_iso3},
            {"country_name", location.country_name},
            {"region", location.region},
            {"cloud_provider", location.cloud_provider},
            {"cloud_region", location.cloud_region}}},
          {"equivalents", equivalents},
          {"sample_intensity_g_per_kwh", account.sample_intensity_g_per_kwh},
          {"sample_emissions_g", account.sample_emissions_g}};
}

}  // namespace carbonmeter
