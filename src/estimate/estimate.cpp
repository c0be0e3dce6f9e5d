#include "estimate/estimate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/number_format.hpp"

namespace carbonmeter {
namespace {

std::string plain(double value) { return format_significant(value); }

std::string power_term(const std::vector<PowerPart>& parts) {
  auto term = [](const PowerPart& p) {
    std::string text = p.units == 1 && p.component != "memory"
                           ? plain(p.unit_power_w) + " W"
                           : fmt::format("{} × {} W", plain(p.units), plain(p.unit_power_w));
    if (p.utilization != 1.0) text += fmt::format(" × {}", plain(p.utilization));
    return text;
  };
  if (parts.size() == 1) return term(parts[0]);
  std::string text;
  for (const PowerPart& p : parts) text += (text.empty() ? "(" : " + ") + term(p);
  return text + ")";
}

struct Intensity {
  double g_per_kwh = 0.0;
  double relative_uncertainty = 0.0;
  std::string how;
};

Result<Intensity> intensity_for(const EstimateInputs& in, const ResolvedLocation& location, double hours) {
  if (!location.series) {
    if (!location.constant) return Error{"no carbon intensity for this place: give --carbon-intensity"};
    return Intensity{location.constant->g_per_kwh, location.intensity_relative_uncertainty, location.how};
  }
  if (!in.start_unix_s)
    return Error{
        "--intensity-series needs --start TIME (ISO 8601 with offset, or Unix seconds): when the run began"};
  if (!(hours > 0))
    return Error{"--intensity-series needs the run's length (--hours or --duration) to align the series"};
  const double from = *in.start_unix_s, to = from + hours * 3600.0;
  const SeriesIntegral integral = location.series->integrate(from, to);
  double weighted = integral.g_per_kwh_seconds, known_s = integral.covered_s;
  double uncertainty = location.intensity_relative_uncertainty;
  if (integral.uncovered_s > 0) {
    if (!location.series_fallback)
      return Error{fmt::format(
          "the intensity series {} does not cover {:.0f} s of the run ({} to {}; the series spans {} to {}): "
          "give a series that covers it, or a fallback (--country, --zone, --cloud or --carbon-intensity)",
          location.series->name(), integral.uncovered_s, format_iso8601_utc(from), format_iso8601_utc(to),
          format_iso8601_utc(location.series->start_unix_s()),
          format_iso8601_utc(location.series->end_unix_s()))};
    weighted += location.series_fallback->g_per_kwh * integral.uncovered_s;
    known_s += integral.uncovered_s;
    const double share = integral.uncovered_s / (to - from);
    uncertainty = (1 - share) * uncertainty + share * location.fallback_relative_uncertainty;
  }
  // Constant power, so the energy-weighted intensity is the time average over the run.
  return Intensity{weighted / known_s, uncertainty,
                   fmt::format("{}, averaged over {} to {}", location.how, format_iso8601_utc(from),
                               format_iso8601_utc(to))};
}

}  // namespace

Result<Estimate> estimate_emissions(const EstimateInputs& in, const ResolvedLocation& location,
                                    const ReferenceData& data, const AcceleratorTable& accelerators,
                                    const CpuTdpTable& cpus) {
  auto parts = estimate_power(in, accelerators, cpus);
  if (!parts) return parts.error();
  Estimate out;
  out.parts = parts.value();
  if (in.hours && !(*in.hours > 0 && std::isfinite(*in.hours)))
    return Error{fmt::format("--hours {}: give the run's length in hours (more than 0)", *in.hours)};
  if (in.energy_kwh) {
    if (!(*in.energy_kwh >= 0 && std::isfinite(*in.energy_kwh)))
      return Error{fmt::format("--energy-kwh {}: give the energy in kWh (0 or more)", *in.energy_kwh)};
    if (!out.parts.empty())
      return Error{"--energy-kwh replaces the hardware: give either the energy, or hardware with --hours"};
    out.it_energy_kwh = *in.energy_kwh;
    out.hours = in.hours.value_or(0.0);
    out.power_w = out.hours > 0 ? out.it_energy_kwh * 1000.0 / out.hours : 0.0;
  } else {
    if (out.parts.empty())
      return Error{
          "what ran? give --hardware NAME [--count N], --power-w W, --cpu/--cores, --memory-gb, "
          "or the energy with --energy-kwh"};
    if (!in.hours) return Error{"how long did it run? give --hours H or --duration 3d4h"};
    out.hours = *in.hours;
    double uncertain_w = 0.0;
    for (const PowerPart& p : out.parts) {
      out.power_w += p.power_w;
      uncertain_w += p.power_w * p.relative_uncertainty;
    }
    out.energy_relative_uncertainty = out.power_w > 0 ? uncertain_w / out.power_w : 0.0;
    out.it_energy_kwh = out.power_w * out.hours / 1000.0;
  }
  auto intensity = intensity_for(in, location, out.hours);
  if (!intensity) return intensity.error();
  out.intensity_g_per_kwh = intensity.value().g_per_kwh;
  out.intensity_how = intensity.value().how;
  out.intensity_relative_uncertainty = intensity.value().relative_uncertainty;
  out.pue = location.pue;
  out.pue_source = location.pue_source;
  out.energy_kwh = out.it_energy_kwh * out.pue;  // PUE once, here
  out.emissions_kg = out.energy_kwh * out.intensity_g_per_kwh / 1000.0;
  out.relative_uncertainty = std::hypot(out.energy_relative_uncertainty, out.intensity_relative_uncertainty);
  out.low_kg = out.emissions_kg * std::max(0.0, 1 - out.relative_uncertainty);
  out.high_kg = out.emissions_kg * (1 + out.relative_uncertainty);
  out.water_l = out.it_energy_kwh * location.wue_l_per_kwh;
  out.notes = location.notes;

  const std::string energy_part = in.energy_kwh ? plain(out.it_energy_kwh) + " kWh"
                                                : fmt::format("{} × {} h = {} kWh", power_term(out.parts),
                                                              plain(out.hours), plain(out.it_energy_kwh));
  const std::string pue_part =
      out.pue != 1.0 ? fmt::format(" × PUE {} = {} kWh", plain(out.pue), plain(out.energy_kwh)) : "";
  for (double figure : {out.energy_kwh, out.emissions_kg, out.high_kg, out.power_w})
    if (!std::isfinite(figure))
      return Error{
          "the figures given are too large to compute with (the energy or emissions overflow): check "
          "--hours, --count and --power-w"};
  out.formula = fmt::format("{}{} × {} kg CO2e/kWh = {} kg CO2e", energy_part, pue_part,
                            plain(out.intensity_g_per_kwh / 1000.0), plain(out.emissions_kg));
  for (const PowerPart& p : out.parts)
    if (p.how.rfind("TDP", 0) == 0 && p.component == "accelerator")
      out.notes.push_back(
          "a TDP is the most a device may draw for long; real training averages are often 60-90 % of it: "
          "give --gpu-utilization or --power-w if you know better");
  out.alternatives = alternatives_for(out.it_energy_kwh, location, data);
  out.equivalents = equivalents_of(out.emissions_kg * 1000.0);
  return out;
}

nlohmann::json estimate_json(const Estimate& e) {
  using nlohmann::json;
  json parts = json::array();
  for (const PowerPart& p : e.parts)
    parts.push_back({{"component", p.component},
                     {"what", p.what},
                     {"unit_power_w", p.unit_power_w},
                     {"units", p.units},
                     {"utilization", p.utilization},
                     {"power_w", p.power_w},
                     {"how", p.how},
                     {"relative_uncertainty", p.relative_uncertainty}});
  json alternatives = json::array();
  for (const Alternative& a : e.alternatives)
    alternatives.push_back({{"location", a.location},
                            {"name", a.name},
                            {"intensity_g_per_kwh", a.intensity_g_per_kwh},
                            {"pue", a.pue},
                            {"emissions_kg", a.emissions_kg}});
  const json equivalents = equivalents_json(e.equivalents);
  return {{"method", "estimate"},
          {"parts", parts},
          {"power_w", e.power_w},
          {"hours", e.hours},
          {"it_energy_kwh", e.it_energy_kwh},
          {"energy_kwh", e.energy_kwh},
          {"pue", e.pue},
          {"pue_source", e.pue_source},
          {"intensity_g_per_kwh", e.intensity_g_per_kwh},
          {"intensity_how", e.intensity_how},
          {"emissions_kg", e.emissions_kg},
          {"emissions_range_kg", {e.low_kg, e.high_kg}},
          {"relative_uncertainty", e.relative_uncertainty},
          {"energy_relative_uncertainty", e.energy_relative_uncertainty},
          {"intensity_relative_uncertainty", e.intensity_relative_uncertainty},
          {"water_l", e.water_l},
          {"formula", e.formula},
          {"notes", e.notes},
          {"alternatives", alternatives},
          {"equivalents", equivalents}};
}

}  // namespace carbonmeter
