// carbonmeter whatif RUN.json --intensity-series FILE...: the emissions the same measured run
// would have had at other start times and on other grids (docs/plan.md).
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <memory>

#include "carbon/counterfactual.hpp"
#include "carbon/timestamp.hpp"
#include "cli/commands.hpp"
#include "core/number_format.hpp"
#include "core/run_report.hpp"
#include "core/text_file.hpp"
#include "estimate/duration.hpp"

namespace carbonmeter::cli {
namespace {

struct WhatifFlags {
  std::string run_json;
  std::vector<std::string> series;
  std::string from;
  std::string every = "1h";
  int count = 24;
  bool json = false;
};

struct MeasuredRun {
  double start_unix_s = 0.0;
  double pue = 1.0;
  std::vector<EnergyPiece> pieces;
};

double number_at(const nlohmann::json& object, const char* key, const std::string& where) {
  const auto found = object.find(key);
  if (found == object.end() || !found->is_number() || !std::isfinite(found->get<double>()))
    throw FatalError(fmt::format("{}: field {}: expected a number", where, key));
  return found->get<double>();
}

MeasuredRun read_run(const std::string& path) {
  check_input_file(path, "whatif");
  auto text = read_text_file(path);
  if (!text) throw FatalError(text.error().message);
  nlohmann::json run = nlohmann::json::parse(text.value(), nullptr, false);
  if (!run.is_object() || !run.contains("energy_j") || !run.contains("start_time"))
    throw FatalError(path + ": not a carbonmeter run report (write one with `carbonmeter run --json FILE`)");
  MeasuredRun out;
  const auto start =
      run["start_time"].is_string() ? parse_timestamp(run["start_time"].get<std::string>()) : std::nullopt;
  if (!start) throw FatalError(path + ": field start_time: expected an ISO 8601 time");
  out.start_unix_s = *start;
  if (run.contains("pue") && run["pue"].is_number() && run["pue"].get<double>() >= 1) out.pue = run["pue"];
  if (run.contains("samples") && run["samples"].is_array() && !run["samples"].empty()) {
    for (const auto& sample : run["samples"]) {
      if (!sample.is_object() || !sample.contains("energy_j") || !sample["energy_j"].is_object())
        throw FatalError(path + ": field samples: each sample needs t_s, dt_s and energy_j");
      const double t_s = number_at(sample, "t_s", path + " samples"),
                   dt_s = number_at(sample, "dt_s", path + " samples");
      const double energy_j = number_at(sample["energy_j"], "total", path + " samples energy_j");
      out.pieces.push_back({t_s - dt_s, t_s, energy_j / 3.6e6 * out.pue});
    }
  } else {
    const double duration_s = number_at(run, "duration_s", path);
    out.pieces.push_back(
        {0.0, duration_s, number_at(run["energy_j"], "total", path + " energy_j") / 3.6e6 * out.pue});
  }
  return out;
}

int whatif(const WhatifFlags& flags) {
  if (flags.series.empty()) throw UsageError("whatif needs at least one --intensity-series FILE[:COLUMN]");
  if (flags.count < 1 || flags.count > 10000) throw UsageError("--count: give 1 to 10000 start times");
  auto every_h = parse_duration_hours(flags.every);
  if (!every_h) {
    std::string message = every_h.error().message;  // said of --duration: it is --every here
    if (message.rfind("--duration", 0) == 0) message.replace(0, 10, "--every");
    throw UsageError(message);
  }
  const double every_s = every_h.value() * 3600.0;
  std::optional<double> from;
  if (!flags.from.empty()) {
    from = parse_timestamp(flags.from);
    if (!from)
      throw UsageError("--from '" + flags.from +
                       "' is not a timestamp (ISO 8601 with offset, or Unix seconds)");
  }
  const MeasuredRun run = read_run(flags.run_json);
  double energy_kwh = 0.0;
  for (const EnergyPiece& p : run.pieces) energy_kwh += p.energy_kwh;

  nlohmann::json zones = nlohmann::json::array();
  std::string text =
      fmt::format("carbonmeter whatif: the run in {} ({} kWh with PUE {}) started at other times\n",
                  flags.run_json, format_significant(energy_kwh), format_significant(run.pue));
  for (const std::string& spec : flags.series) {
    check_input_file(series_file(spec), "--intensity-series");
    auto series = IntensitySeries::load(spec);
    if (!series) throw UsageError(series.error().message);
    const IntensitySeries& s = series.value();
    // By default the run's own start when the series covers it, else the series' first hour.
    const double first = from.value_or(s.covers(run.start_unix_s) ? run.start_unix_s : s.start_unix_s());
    nlohmann::json starts = nlohmann::json::array(), emissions = nlohmann::json::array();
    std::optional<std::pair<double, double>> best, worst;
    for (int k = 0; k < flags.count; ++k) {
      const double start = first + k * every_s;
      const auto g = emissions_at_g(run.pieces, s, start);
      starts.push_back(format_iso8601_utc(start));
      emissions.push_back(g ? nlohmann::json(*g) : nlohmann::json());
      if (g && (!best || *g < best->second)) best = {{start, *g}};
      if (g && (!worst || *g > worst->second)) worst = {{start, *g}};
    }
    nlohmann::json zone = {
        {"series", s.name()}, {"column", s.column()}, {"starts", starts}, {"emissions_g", emissions}};
    text += fmt::format("  {} ({}):\n", s.name(), s.column());
    if (!best) {
      text += "    the series covers none of these start times (use --from)\n";
      zone["best"] = nullptr;
    } else {
      zone["best"] = {{"start", format_iso8601_utc(best->first)}, {"emissions_g", best->second}};
      zone["worst"] = {{"start", format_iso8601_utc(worst->first)}, {"emissions_g", worst->second}};
      zone["spread_pct"] = worst->second > 0 ? 100 * (worst->second - best->second) / worst->second : 0.0;
      for (std::size_t k = 0; k < starts.size(); ++k)
        text += fmt::format(
            "    {}  {}\n", starts[k].get<std::string>(),
            emissions[k].is_null() ? "not covered" : format_significant(emissions[k].get<double>()) + " g");
      text += fmt::format("    best {} ({} g), worst {} ({} g): {} % apart\n",
                          format_iso8601_utc(best->first), format_significant(best->second),
                          format_iso8601_utc(worst->first), format_significant(worst->second),
                          format_significant(zone["spread_pct"].get<double>(), 3));
    }
    zones.push_back(zone);
  }
  if (flags.json)
    std::puts(
        dump_json({{"run", flags.run_json}, {"energy_kwh", energy_kwh}, {"pue", run.pue}, {"zones", zones}},
                  2)
            .c_str());
  else
    std::fputs(text.c_str(), stdout);
  return 0;
}

}  // namespace

void add_whatif_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<WhatifFlags>();
  CLI::App* cmd = app.add_subcommand(
      "whatif", "The emissions a measured run would have had at other start times and on other grids");
  cmd->add_option("RUN.json", flags->run_json, "A run report (carbonmeter run --json)")->required();
  cmd->add_option("--intensity-series", flags->series,
                  "A grid's intensity over time, FILE[:COLUMN]; repeat for more")
      ->required();
  cmd->add_option("--from", flags->from, "First start time (default: the run's own, else the series' first)");
  cmd->add_option("--every", flags->every, "Between start times (default 1h)");
  cmd->add_option("--count", flags->count, "How many start times (default 24)");
  cmd->add_flag("--json", flags->json, "Print JSON");
  cmd->callback([flags, &exit_code] { exit_code = whatif(*flags); });
}

}  // namespace carbonmeter::cli
