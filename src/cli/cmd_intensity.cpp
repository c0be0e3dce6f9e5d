// carbonmeter intensity [location options] [--json] [--list countries|zones|cloud]: the carbon
// intensity carbonmeter would use here, with its kind, source and year; or what it knows.
#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "carbon/timestamp.hpp"
#include "cli/commands.hpp"
#include "cli/location_options.hpp"
#include "core/run_report.hpp"
#include "core/tracker_impl.hpp"

namespace carbonmeter::cli {
namespace {

struct IntensityOptions {
  LocationFlags location;
  bool json = false;
  std::string list;
  std::string at;
};

int list_known(const std::string& what, bool json_output) {
  auto data = ReferenceData::load();
  if (!data) throw FatalError(data.error().message);
  nlohmann::json rows = nlohmann::json::array();
  auto place_row = [](const Place& p) {
    return nlohmann::json{{"code", p.code},
                          {"name", p.name},
                          {"iso3", p.iso3},
                          {"g_per_kwh", p.intensity.g_per_kwh},
                          {"year", p.intensity.year},
                          {"kind", p.intensity.kind},
                          {"source", p.intensity.source}};
  };
  if (what == "countries") {
    for (const Place& p : data.value().countries()) rows.push_back(place_row(p));
  } else if (what == "zones") {
    for (const Place& p : data.value().zones()) rows.push_back(place_row(p));
  } else {
    for (const CloudRegion& r : data.value().cloud_regions_with_figures()) {
      rows.push_back({{"code", r.provider + ":" + r.region},
                      {"name", r.location},
                      {"iso3", r.iso3},
                      {"g_per_kwh", r.intensity.g_per_kwh},
                      {"year", r.intensity.year},
                      {"kind", r.intensity.kind},
                      {"source", r.intensity.source},
                      {"pue", r.pue},
                      {"wue_l_per_kwh", r.wue_l_per_kwh}});
    }
  }
  if (json_output) {
    std::puts(dump_json(rows, 2).c_str());
    return 0;
  }
  for (const auto& row : rows)
    std::printf("%-28s %8.1f g/kWh  %-4d %-10s %-26s %s\n", row["code"].get<std::string>().c_str(),
                row["g_per_kwh"].get<double>(), row["year"].get<int>(),
                row["kind"].get<std::string>().c_str(), row["source"].get<std::string>().c_str(),
                row["name"].get<std::string>().c_str());
  return 0;
}

int intensity(const IntensityOptions& options) {
  if (!options.list.empty()) return list_known(options.list, options.json);
  const ResolvedLocation location = resolve_location_flags(options.location);
  nlohmann::json out = {{"how", location.how},
                        {"guessed", location.guessed},
                        {"relative_uncertainty", location.intensity_relative_uncertainty},
                        {"country_iso3", location.country_iso3},
                        {"country_name", location.country_name},
                        {"region", location.region},
                        {"cloud_provider", location.cloud_provider},
                        {"cloud_region", location.cloud_region},
                        {"pue", location.pue},
                        {"pue_source", location.pue_source},
                        {"wue_l_per_kwh", location.wue_l_per_kwh},
                        {"notes", location.notes}};
  std::string line;
  if (location.constant) {
    const IntensityFigure& f = *location.constant;
    out.update({{"g_per_kwh", f.g_per_kwh},
                {"kind", f.kind},
                {"basis", f.basis},
                {"source", f.source},
                {"year", f.year}});
    line = fmt::format("{:.1f} gCO2e/kWh ({} {}, {}{})", f.g_per_kwh, f.basis, f.kind, f.source,
                       f.year ? fmt::format(", {}", f.year) : "");
  } else if (location.series) {
    double when = unix_now_s();
    if (!options.at.empty()) {
      auto parsed = parse_timestamp(options.at);
      if (!parsed)
        throw UsageError("--at '" + options.at +
                         "' is not a timestamp (ISO 8601 with offset, or Unix seconds)");
      when = *parsed;
    }
    const SeriesIntegral value = location.series->integrate(when, when + 1);
    out.update({{"series", location.series->name()},
                {"column", location.series->column()},
                {"step_s", location.series->step_s()},
                {"start", format_iso8601_utc(location.series->start_unix_s())},
                {"end", format_iso8601_utc(location.series->end_unix_s())},
                {"at", format_iso8601_utc(when)}});
    if (value.covered_s > 0) {
      out["g_per_kwh"] = value.g_per_kwh_seconds / value.covered_s;
      line = fmt::format("{:.1f} gCO2e/kWh at {} (series {}, column {})",
                         value.g_per_kwh_seconds / value.covered_s, format_iso8601_utc(when),
                         location.series->name(), location.series->column());
    } else {
      out["g_per_kwh"] = nullptr;
      line = fmt::format("no value at {}: the series spans {} to {} (use --at)", format_iso8601_utc(when),
                         format_iso8601_utc(location.series->start_unix_s()),
                         format_iso8601_utc(location.series->end_unix_s()));
    }
  }
  if (options.json) {
    std::puts(dump_json(out, 2).c_str());
    return 0;
  }
  std::printf("%s\n  from %s%s\n  PUE %.2f (%s)", line.c_str(), location.how.c_str(),
              location.guessed ? " — a GUESS" : "", location.pue, location.pue_source.c_str());
  if (location.wue_l_per_kwh > 0)
    std::printf(", WUE %.2f L/kWh (%s)", location.wue_l_per_kwh, location.wue_source.c_str());
  std::printf("\n  uncertainty of this figure for a given hour: ±%.0f %%\n",
              location.intensity_relative_uncertainty * 100);
  for (const std::string& note : location.notes) std::printf("  note: %s\n", note.c_str());
  return 0;
}

}  // namespace

void add_intensity_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<IntensityOptions>();
  CLI::App* cmd =
      app.add_subcommand("intensity", "The grid carbon intensity for a place (or here), with its source");
  add_location_options(*cmd, options->location);
  cmd->add_flag("--json", options->json, "Print JSON");
  cmd->add_option("--list", options->list, "List what is known: countries, zones or cloud")
      ->check(CLI::IsMember({"countries", "zones", "cloud"}));
  cmd->add_option("--at", options->at, "With --intensity-series: the time to look up (default now)");
  cmd->callback([options, &exit_code] { exit_code = intensity(*options); });
}

}  // namespace carbonmeter::cli
