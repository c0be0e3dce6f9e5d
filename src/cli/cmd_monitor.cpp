// carbonmeter monitor: whole-machine power and energy, a line per interval, until Ctrl-C (or
// --duration), then totals.
#include <fmt/format.h>
#include <signal.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/summary.hpp"
#include "core/tracker_impl.hpp"

namespace carbonmeter::cli {
namespace {

struct MonitorOptions {
  double interval_s = 1.0;
  double duration_s = 0.0;
  bool json_lines = false;
  std::string json_path;
  std::string output_dir;
  std::string rapl_domains;
  std::string gpu_ids;
};

std::string format_line(const Sample& sample, const EnergyJ& cumulative, bool json_lines) {
  const double dt = sample.dt_s > 0 ? sample.dt_s : 1.0;
  if (json_lines) {
    nlohmann::json power = nlohmann::json::object(), energy = nlohmann::json::object();
    for (Component c : kComponents) {
      power[std::string(component_name(c))] = sample.machine_energy_j[c] / dt;
      energy[std::string(component_name(c))] = cumulative[c];
    }
    power["total"] = sample.machine_energy_j.total() / dt;
    energy["total"] = cumulative.total();
    return dump_json(
        nlohmann::json{{"t_s", sample.t_s}, {"dt_s", sample.dt_s}, {"power_w", power}, {"energy_j", energy}});
  }
  return fmt::format("{:9.2f} s  cpu {:8.2f} W  ram {:7.2f} W  gpu {:8.2f} W  total {:8.2f} W  energy {}",
                     sample.t_s, sample.machine_energy_j[Component::cpu] / dt,
                     sample.machine_energy_j[Component::ram] / dt,
                     sample.machine_energy_j[Component::gpu] / dt, sample.machine_energy_j.total() / dt,
                     format_energy_j(cumulative.total()));
}

int monitor(const MonitorOptions& options) {
  check_interval(options.interval_s);
  check_writable_file(options.json_path, "--json");
  if (!std::isfinite(options.duration_s) || options.duration_s < 0 || options.duration_s > 1e9)
    throw UsageError("--duration must be a number of seconds between 0 (no limit) and 1e9");

  // Block the stop signals in every thread; the main thread waits for them with sigtimedwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  TrackerOptions tracker_options;
  tracker_options.interval_s = options.interval_s;
  tracker_options.scope = Scope::machine;
  tracker_options.rapl_domains = options.rapl_domains;
  tracker_options.gpu_ids = options.gpu_ids;
  tracker_options.output_dir = options.output_dir;
  tracker_options.project_name = "monitor";
  Tracker::Impl tracker(tracker_options);
  EnergyJ cumulative;
  tracker.set_sample_listener([&, json_lines = options.json_lines](const Sample& sample) {
    cumulative += sample.machine_energy_j;
    std::puts(format_line(sample, cumulative, json_lines).c_str());
    std::fflush(stdout);
  });
  if (auto started = tracker.start(); !started) throw FatalError("monitor: " + started.error().message);
  if (!options.json_lines) {
    const RunReport report = tracker.report();
    for (Component c : kComponents) {
      const MethodInfo& m = report.header.methods[c];
      std::fprintf(stderr, "carbonmeter monitor: %s from %s (%s)\n", std::string(component_name(c)).c_str(),
                   m.method.c_str(), m.kind.c_str());
    }
    for (const std::string& note : tracker.notes()) std::fprintf(stderr, "  note: %s\n", note.c_str());
  }

  timespec wait_time{};
  timespec* timeout = nullptr;
  if (options.duration_s > 0) {
    wait_time.tv_sec = static_cast<time_t>(options.duration_s);
    wait_time.tv_nsec = static_cast<long>((options.duration_s - static_cast<double>(wait_time.tv_sec)) * 1e9);
    timeout = &wait_time;
  }
  while (sigtimedwait(&stop_signals, nullptr, timeout) < 0 && errno == EINTR) {
  }
  tracker.stop();
  RunReport report = tracker.report();
  std::fputs(format_summary(report).c_str(), stderr);
  if (!options.json_path.empty())
    if (auto written = write_report_json(report, options.json_path); !written)
      throw FatalError(written.error().message);
  return 0;
}

}  // namespace

void add_monitor_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<MonitorOptions>();
  CLI::App* cmd =
      app.add_subcommand("monitor", "Whole-machine power and energy, a line per interval, until Ctrl-C");
  cmd->add_option("--interval", options->interval_s, "Sampling interval in seconds (0.01 to 3600)")
      ->capture_default_str();
  cmd->add_option("--duration", options->duration_s, "Stop after this many seconds (default: until Ctrl-C)");
  cmd->add_flag("--json-lines", options->json_lines, "One JSON object per interval instead of text");
  cmd->add_option("--json", options->json_path, "Write the totals as a run report (JSON) at the end");
  cmd->add_option("--output-dir", options->output_dir,
                  "Keep a journal in this folder (report --recover reads it)");
  cmd->add_option("--rapl-domains", options->rapl_domains,
                  "RAPL domains: package,dram (default), psys, or core,uncore");
  cmd->add_option("--gpu-ids", options->gpu_ids, "GPUs to measure: indices or UUIDs (default: all)");
  cmd->callback([options, &exit_code] { exit_code = monitor(*options); });
}

}  // namespace carbonmeter::cli
