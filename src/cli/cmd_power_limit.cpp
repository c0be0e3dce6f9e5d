// carbonmeter power-limit: `choose` picks a GPU power limit from a profile (Zeus' JSON format) for
// an objective; `show` lists each GPU's current, default, min and max limits. Neither changes a
// GPU setting: the PowerLimitOptimizer (C++ and Python) is what profiles and applies limits.
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "core/run_report.hpp"
#include "optimize/nvml_power_control.hpp"
#include "optimize/power_limit_choice.hpp"

namespace carbonmeter::cli {
namespace {

struct ChooseFlags {
  std::string profile;
  std::optional<double> eta;
  std::optional<double> max_slowdown;
  std::string objective;
  int gpus = 1;
  std::string unit;
  bool json = false;
  bool dry_run = false;
  std::string gpu_ids;
};

// --dry-run: what applying the choice would change on each GPU; nothing is changed.
nlohmann::json would_set(const ChooseFlags& flags, double limit_w) {
  auto control = NvmlPowerControl::open(select_gpus(flags.gpu_ids));
  if (!control) throw FatalError(control.error().message);
  nlohmann::json gpus = nlohmann::json::array();
  for (const GpuPowerLimits& g : control.value()->gpus()) {
    const bool fits = limit_w >= g.min_w - 1e-6 && limit_w <= g.max_w + 1e-6;
    gpus.push_back({{"index", g.index},
                    {"name", g.name},
                    {"current_w", g.current_w},
                    {"would_set_w", limit_w},
                    {"within_limits", fits},
                    {"min_w", g.min_w},
                    {"max_w", g.max_w}});
    if (!flags.json)
      std::printf(fits ? "dry run: would set GPU %u (%s) from %g W to %g W\n"
                       : "dry run: GPU %u (%s) is at %g W and cannot take %g W (its limits are %g-%g W)\n",
                  g.index, g.name.c_str(), g.current_w, limit_w, g.min_w, g.max_w);
  }
  if (!flags.json) std::printf("dry run: nothing was changed\n");
  return gpus;
}

PowerLimitObjective objective_of(const ChooseFlags& flags) {
  PowerLimitObjective objective;
  if (flags.eta) objective = {PowerLimitObjective::Kind::eta, *flags.eta};
  if (flags.max_slowdown) objective = {PowerLimitObjective::Kind::max_slowdown, *flags.max_slowdown};
  if (!flags.objective.empty()) {
    auto parsed = PowerLimitObjective::parse(flags.objective);
    if (!parsed) throw UsageError(parsed.error().message);
    objective = parsed.value();
  }
  if (auto valid = objective.validate(); !valid) throw UsageError(valid.error().message);
  return objective;
}

// A limit as the profile writes it: 250, not 250.0.
nlohmann::json limit_json(double power_limit) {
  if (power_limit == std::round(power_limit) && std::abs(power_limit) < 9e15)
    return nlohmann::json(static_cast<long long>(power_limit));
  return nlohmann::json(power_limit);
}

nlohmann::json optional_number(const std::optional<double>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json();
}

int choose(const ChooseFlags& flags) {
  const PowerLimitObjective objective = objective_of(flags);
  if (flags.gpus < 1) throw UsageError("--gpus must be 1 or more");
  std::optional<bool> milliwatts;
  if (flags.unit == "mW") milliwatts = true;
  if (flags.unit == "W") milliwatts = false;
  check_input_file(flags.profile, "--profile");
  auto profile = read_power_limit_profile(flags.profile, milliwatts);
  if (!profile) throw FatalError(profile.error().message);
  const PowerLimitProfile& p = profile.value();
  auto choice = choose_power_limit(p, objective, flags.gpus);
  if (!choice) throw FatalError(choice.error().message);
  const PowerLimitChoice& c = choice.value();
  const PowerLimitMeasurement& best = p.measurements[c.index];
  const PowerLimitMeasurement& highest = p.highest();

  if (flags.json) {
    nlohmann::json rows = nlohmann::json::array();
    for (std::size_t i = 0; i < p.measurements.size(); ++i)
      rows.push_back({{"power_limit", limit_json(p.measurements[i].power_limit)},
                      {"energy", p.measurements[i].energy_j},
                      {"time", p.measurements[i].time_s},
                      {"cost", optional_number(c.costs[i])}});
    nlohmann::json out{{"power_limit", limit_json(best.power_limit)},
                       {"unit", p.unit()},
                       {"power_limit_w", p.to_w(best.power_limit)},
                       {"energy", best.energy_j},
                       {"time", best.time_s},
                       {"cost", c.cost},
                       {"cost_unit", c.cost_unit},
                       {"objective", objective.describe()},
                       {"gpus", flags.gpus},
                       {"profile", flags.profile},
                       {"highest_power_limit", limit_json(highest.power_limit)},
                       {"energy_change", c.energy_change},
                       {"time_change", c.time_change},
                       {"measurements", rows}};
    if (flags.dry_run) out["dry_run"] = would_set(flags, p.to_w(best.power_limit));
    std::puts(dump_json(out, 2).c_str());
    return 0;
  }
  std::printf("%12s %14s %11s %16s\n", (std::string("limit (") + p.unit() + ")").c_str(), "energy (J)",
              "time (s)", (std::string("cost (") + c.cost_unit + ")").c_str());
  for (std::size_t i = 0; i < p.measurements.size(); ++i) {
    const PowerLimitMeasurement& m = p.measurements[i];
    std::printf("%12g %14.1f %11.3f %16s%s\n", m.power_limit, m.energy_j, m.time_s,
                c.costs[i] ? fmt::format("{:.1f}", *c.costs[i]).c_str() : "too slow",
                i == c.index ? "  <- chosen" : "");
  }
  std::printf(
      "\nChosen for %s: %g %s — energy %+.1f %%, time %+.1f %% against %g %s (measured in the profile)\n",
      objective.describe().c_str(), best.power_limit, p.unit(), c.energy_change * 100, c.time_change * 100,
      highest.power_limit, p.unit());
  if (flags.dry_run) would_set(flags, p.to_w(best.power_limit));
  return 0;
}

int show(const std::string& gpu_ids, bool json) {
  auto control = NvmlPowerControl::open(select_gpus(gpu_ids));
  if (!control) throw FatalError(control.error().message);
  const auto& gpus = control.value()->gpus();
  if (json) {
    nlohmann::json rows = nlohmann::json::array();
    for (const GpuPowerLimits& g : gpus)
      rows.push_back({{"index", g.index},
                      {"name", g.name},
                      {"uuid", g.uuid},
                      {"current_w", g.current_w},
                      {"default_w", g.default_w},
                      {"min_w", g.min_w},
                      {"max_w", g.max_w}});
    std::puts(dump_json(rows, 2).c_str());
    return 0;
  }
  std::printf("%-4s %-28s %11s %11s %9s %9s\n", "GPU", "name", "current W", "default W", "min W", "max W");
  for (const GpuPowerLimits& g : gpus)
    std::printf("%-4u %-28s %11g %11g %9g %9g\n", g.index, g.name.c_str(), g.current_w, g.default_w, g.min_w,
                g.max_w);
  std::printf("(as NVML reports them; nothing was changed)\n");
  return 0;
}

}  // namespace

void add_power_limit_command(CLI::App& app, int& exit_code) {
  CLI::App* cmd = app.add_subcommand("power-limit", "GPU power limits: choose one from a profile, show them");
  cmd->require_subcommand(1);

  auto flags = std::make_shared<ChooseFlags>();
  CLI::App* choose_cmd = cmd->add_subcommand(
      "choose",
      "Choose a power limit from a profile ({\"measurements\": [{\"power_limit\", \"energy\", \"time\"}]})");
  choose_cmd->add_option("--profile", flags->profile, "The profile (JSON, Zeus' format)")->required();
  auto* eta = choose_cmd->add_option("--eta", flags->eta,
                                     "Least eta*energy + (1-eta)*P_max*time; 0 = fastest, 1 = least energy "
                                     "(the default, with 0.5)");
  auto* slowdown =
      choose_cmd->add_option("--max-slowdown", flags->max_slowdown,
                             "Least energy at most this many times slower than at the highest limit");
  auto* objective = choose_cmd->add_option("--objective", flags->objective,
                                           "energy, time, eta[:VALUE] or max_slowdown[:FACTOR]");
  eta->excludes(slowdown)->excludes(objective);
  slowdown->excludes(objective);
  choose_cmd
      ->add_option("--gpus", flags->gpus,
                   "How many GPUs the profile's energy covers (P_max = highest × GPUs)")
      ->default_val(1);
  choose_cmd->add_option("--unit", flags->unit, "The profile's power unit (default: mW above 2000, else W)")
      ->check(CLI::IsMember({"W", "mW"}));
  choose_cmd->add_flag("--json", flags->json, "Print JSON");
  choose_cmd->add_flag("--dry-run", flags->dry_run,
                       "Also say what applying the choice would change on each GPU (nothing is changed)");
  choose_cmd->add_option("--gpu-ids", flags->gpu_ids,
                         "With --dry-run: GPUs (default: CUDA_VISIBLE_DEVICES, else all)");
  choose_cmd->callback([flags, &exit_code] { exit_code = choose(*flags); });

  auto gpu_ids = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  CLI::App* show_cmd = cmd->add_subcommand("show", "Each GPU's current, default, min and max power limit");
  show_cmd->add_option("--gpu-ids", *gpu_ids,
                       "GPUs: indices or UUIDs (default: CUDA_VISIBLE_DEVICES, else all)");
  show_cmd->add_flag("--json", *json, "Print JSON");
  show_cmd->callback([gpu_ids, json, &exit_code] { exit_code = show(*gpu_ids, *json); });
}

}  // namespace carbonmeter::cli
