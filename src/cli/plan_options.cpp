#include "cli/plan_options.hpp"

#include <fmt/format.h>

#include <cmath>

#include "carbon/timestamp.hpp"
#include "cli/commands.hpp"
#include "core/number_format.hpp"
#include "core/run_report.hpp"
#include "estimate/duration.hpp"

namespace carbonmeter::cli {
namespace {

double seconds_of(const std::string& text, const char* flag, bool allow_zero = false) {
  auto hours = parse_duration_hours(text, allow_zero);
  if (!hours) {
    std::string message = hours.error().message;
    if (message.rfind("--duration", 0) == 0) message.replace(0, 10, flag);
    throw UsageError(message);
  }
  return hours.value() * 3600.0;
}

std::string when(double unix_s) { return format_iso8601_utc(unix_s); }

}  // namespace

void add_plan_options(CLI::App& command, PlanFlags& flags, bool with_strategy) {
  if (with_strategy)
    command.add_option("--strategy", flags.strategy, "flexible-start or pause-resume")
        ->check(CLI::IsMember({"flexible-start", "pause-resume"}))
        ->required();
  command.add_option(
      "--duration", flags.duration,
      with_strategy ? "How long the job runs: 8h, 90m, 3d4h" : "With --plan: how long the command runs");
  auto* window =
      command.add_option("--window", flags.window,
                         "Flexible Start: how late the start may be (default 24h); Pause and Resume: "
                         "the same as --max-delay");
  command.add_option("--max-delay", flags.window, "How much later than D the job may finish (default 24h)")
      ->excludes(window);
  command.add_option("--not-before", flags.not_before,
                     "Earliest start (ISO 8601 with offset, Unix seconds; default now)");
  command.add_option("--min-run", flags.min_run,
                     "Pause and Resume: the shortest piece, e.g. 30m (default any)");
  command.add_option("--pause-cost-g", flags.pause_cost_g,
                     "Pause and Resume: grams CO2e that a pause costs (checkpoint, restart); default 0");
  flags.power_given = command.add_option(
      "--power-w", flags.power_w, "Average power of the job for the emissions figures (default 1000 W)");
}

PlanOutcome make_plan(const PlanFlags& flags, const IntensitySeries& series, double now_unix_s) {
  if (flags.duration.empty()) throw UsageError("planning needs --duration: how long the job runs (e.g. 8h)");
  PlanRequest r;
  r.duration_s = seconds_of(flags.duration, "--duration");
  r.window_s = flags.window.empty() ? kDefaultPlanWindow_s : seconds_of(flags.window, "--window", true);
  r.min_run_s = flags.min_run.empty() ? 0.0 : seconds_of(flags.min_run, "--min-run", true);
  r.pause_cost_g = flags.pause_cost_g;
  r.power_w = flags.power_w;
  r.not_before_unix_s = now_unix_s;
  if (!flags.not_before.empty()) {
    auto parsed = parse_timestamp(flags.not_before);
    if (!parsed)
      throw UsageError(
          "--not-before '" + flags.not_before +
          "' is not a timestamp (ISO 8601 with offset, e.g. 2026-01-01T08:00:00+01:00, or Unix seconds)");
    r.not_before_unix_s = *parsed;
  }
  auto made = carbonmeter::make_plan(series, flags.strategy, r);
  if (!made) throw UsageError(made.error().message);
  return std::move(made).value();
}

std::string format_plan(const PlanOutcome& o, const std::string& series_name) {
  const Plan& p = o.plan;
  std::string out = fmt::format("carbonmeter plan ({}, series {}):\n", p.strategy, series_name);
  if (p.strategy == "flexible-start") {
    out += fmt::format("  start   {} (end {})\n", when(p.intervals.front().first),
                       when(p.intervals.front().second));
  } else {
    out += fmt::format("  run in {} piece{} ({} pause{}):\n", p.intervals.size(),
                       p.intervals.size() == 1 ? "" : "s", p.pauses, p.pauses == 1 ? "" : "s");
    for (const Interval& i : p.intervals)
      out += fmt::format("    {} to {} ({} h)\n", when(i.first), when(i.second),
                         format_significant((i.second - i.first) / 3600.0));
  }
  out += fmt::format("  planned     {} gCO2e/kWh average, {} g CO2e at {} W\n",
                     format_significant(p.expected_intensity_g_per_kwh),
                     format_significant(p.expected_emissions_g), format_significant(o.request.power_w));
  if (std::isnan(p.baseline_emissions_g)) {
    out += fmt::format("  right away  unknown: the series has no values for a run starting at {}\n",
                       when(o.request.not_before_unix_s));
    out += "  saving      unknown\n";
  } else {
    out += fmt::format("  right away  {} gCO2e/kWh average, {} g CO2e (starting {})\n",
                       format_significant(p.baseline_intensity_g_per_kwh),
                       format_significant(p.baseline_emissions_g), when(o.request.not_before_unix_s));
    out += fmt::format("  saving      {} %\n", format_significant(p.savings_pct, 3));
  }
  if (o.forecast)
    out += fmt::format(
        "  note: the series ends at {}; beyond it a FORECAST ({}) is used, whose error when backtested on "
        "the last {} days of the series was {} % (MAPE){}\n",
        when(o.series_end_unix_s), o.forecast->method, format_significant(o.forecast->backtest_days, 2),
        format_significant(o.forecast->backtest_mape * 100, 3),
        p.uses_forecast ? "" : "; this plan does not depend on it");
  return out;
}

}  // namespace carbonmeter::cli
