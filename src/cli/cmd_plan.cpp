// carbonmeter plan: when to run a job (Flexible Start) or when to pause it (Pause and Resume) so
// that it emits least, on an intensity series (docs/plan.md).
#include <cstdio>
#include <memory>

#include "cli/commands.hpp"
#include "cli/plan_options.hpp"
#include "core/run_report.hpp"
#include "core/tracker_impl.hpp"

namespace carbonmeter::cli {
namespace {

struct PlanCommandFlags {
  PlanFlags plan;
  std::string series;
  bool json = false;
};

int plan_command(const PlanCommandFlags& flags) {
  check_input_file(series_file(flags.series), "--intensity-series");
  auto series = IntensitySeries::load(flags.series);
  if (!series) throw UsageError(series.error().message);
  const PlanOutcome outcome = make_plan(flags.plan, series.value(), unix_now_s());
  if (flags.json)
    std::puts(dump_json(plan_json(outcome), 2).c_str());
  else
    std::fputs(format_plan(outcome, series.value().name()).c_str(), stdout);
  return 0;
}

}  // namespace

void add_plan_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<PlanCommandFlags>();
  CLI::App* cmd = app.add_subcommand("plan", "Plan a job's start or pauses on a carbon-intensity series");
  cmd->add_option("--intensity-series", flags->series, "CSV of intensity over time: FILE[:COLUMN]")
      ->required();
  add_plan_options(*cmd, flags->plan, true);
  cmd->add_flag("--json", flags->json, "Print JSON");
  cmd->callback([flags, &exit_code] { exit_code = plan_command(*flags); });
}

}  // namespace carbonmeter::cli
