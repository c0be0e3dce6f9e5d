// carbonmeter monitor: whole-machine power and energy, a line per interval, until Ctrl-C (or
// --duration), then totals.
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/commands.hpp"
#include "cli/location_options.hpp"
#include "cli/scope_options.hpp"
#include "cli/server_options.hpp"
#include "cli/summary.hpp"
#include "core/cgroup_ledger.hpp"
#include "core/cgroup_scope.hpp"
#include "core/container.hpp"
#include "core/tracker_impl.hpp"
#include "metrics/live_metrics.hpp"

namespace carbonmeter::cli {
namespace {

struct MonitorOptions {
  double interval_s = 1.0;
  double duration_s = 0.0;
  bool json_lines = false;
  std::string json_path;
  std::string output_dir;
  double journal_sync_s = TrackerOptions{}.journal_sync_s;
  std::string rapl_domains;
  std::string gpu_ids;
  std::string prometheus;  // HOST:PORT
  std::string job_id;
  std::string node_name;
  std::string project_name = "monitor";
  std::string scope;   // "" = machine, or the container's own cgroup inside one
  std::string cgroup;  // --cgroup PATH
  bool per_cgroup = false;
  ServerFlags server;
  LocationFlags location;  // for the emissions of --prometheus and --server
};

bool any_location_flag(const LocationFlags& flags) {
  return flags.carbon_intensity >= 0 || !flags.intensity_series.empty() || !flags.cloud.empty() ||
         !flags.zone.empty() || !flags.country.empty() || flags.pue >= 0 || flags.wue >= 0 || flags.marginal;
}

nlohmann::json per_component_json(const PerComponent<double>& values) {
  nlohmann::json out = nlohmann::json::object();
  double total = 0.0;
  for (Component c : kComponents) {
    out[std::string(component_name(c))] = values[c];
    total += values[c];
  }
  out["total"] = total;
  return out;
}

nlohmann::json cgroups_json(const std::vector<CgroupEnergy>& cgroups) {
  nlohmann::json out = nlohmann::json::array();
  for (const CgroupEnergy& cgroup : cgroups) {
    nlohmann::json entry = {{"cgroup", cgroup.path},
                            {"runtime", cgroup.labels.runtime},
                            {"container_id", cgroup.labels.container_id},
                            {"energy_j", per_component_json(cgroup.energy_j)},
                            {"power_w", per_component_json(cgroup.power_w)},
                            {"cpu_s", cgroup.cpu_s},
                            {"running", !cgroup.gone}};
    if (cgroup.labels.is_pod()) {
      entry["pod_uid"] = cgroup.labels.pod_uid;
      entry["qos"] = cgroup.labels.qos;
    }
    out.push_back(std::move(entry));
  }
  return out;
}

// energy: the scope's share of the sample (the whole machine in machine scope).
std::string format_line(const Sample& sample, const EnergyJ& energy, const EnergyJ& cumulative,
                        bool json_lines, const CgroupLedger* ledger) {
  const double dt = sample.dt_s > 0 ? sample.dt_s : 1.0;
  PerComponent<double> power;
  for (Component c : kComponents) power[c] = energy[c] / dt;
  if (json_lines) {
    nlohmann::json line{{"t_s", sample.t_s},
                        {"dt_s", sample.dt_s},
                        {"power_w", per_component_json(power)},
                        {"energy_j", per_component_json(cumulative)}};
    if (ledger) line["cgroups"] = cgroups_json(ledger->entries());
    return dump_json(line);
  }
  return fmt::format("{:9.2f} s  cpu {:8.2f} W  ram {:7.2f} W  gpu {:8.2f} W  total {:8.2f} W  energy {}",
                     sample.t_s, power[Component::cpu], power[Component::ram], power[Component::gpu],
                     energy.total() / dt, format_energy_j(cumulative.total()));
}

std::string format_cgroup_totals(const std::vector<CgroupEnergy>& cgroups) {
  if (cgroups.empty()) return "  per cgroup: no container was found\n";
  std::string out = "  per cgroup (CPU energy by CPU time, RAM by resident memory; GPU not split):\n";
  for (const CgroupEnergy& cgroup : cgroups) {
    std::string name = cgroup.labels.runtime + " " + cgroup.labels.container_id.substr(0, 12);
    if (cgroup.labels.is_pod()) name += " (pod " + cgroup.labels.pod_uid + ")";
    out += fmt::format("    {:<40} cpu {:>12}  ram {:>12}{}\n", name,
                       format_energy_j(cgroup.energy_j[Component::cpu]),
                       format_energy_j(cgroup.energy_j[Component::ram]), cgroup.gone ? "  (ended)" : "");
  }
  return out;
}

// The scope monitor measures: --scope/--cgroup, else inside a container its own cgroup when it can
// be read, else the whole machine.
Scope monitor_scope(MonitorOptions& options, std::vector<std::string>& notes) {
  const ContainerInfo container = detect_container();
  if (options.per_cgroup) {
    if (!options.cgroup.empty() || (!options.scope.empty() && options.scope != "machine"))
      throw UsageError(
          "--per-cgroup shares the whole machine among its containers: it cannot go with --cgroup "
          "or --scope " +
          (options.scope.empty() ? std::string("cgroup") : options.scope));
    return Scope::machine;
  }
  if (options.scope.empty() && options.cgroup.empty() && container.inside) {
    if (auto own = open_own_cgroup()) {
      options.cgroup = "self";
      notes.push_back("measuring the " + container.runtime + " container's own share (cgroup " +
                      own.value().cpu_folder() + "); --scope machine measures the whole host");
      return Scope::cgroup;
    } else {
      notes.push_back("inside a " + container.runtime + " container, but its cgroup cannot be read (" +
                      own.error().message + "): measuring the whole host");
    }
  }
  return scope_of(options.scope, options.cgroup, Scope::machine);
}

int monitor(MonitorOptions options) {
  check_interval(options.interval_s);
  check_journal_sync(options.journal_sync_s);
  check_writable_file(options.json_path, "--json");
  if (!std::isfinite(options.duration_s) || options.duration_s < 0 || options.duration_s > 1e9)
    throw UsageError("--duration must be a number of seconds between 0 (no limit) and 1e9");
  std::optional<metrics::ListenAddress> prometheus_address;
  if (!options.prometheus.empty()) {
    auto address = metrics::parse_listen_address(options.prometheus);
    if (!address) throw UsageError(address.error().message);
    prometheus_address = address.value();
  } else if (options.server.url.empty() && any_location_flag(options.location)) {
    throw UsageError(
        "monitor: the place options (--country, --zone, --cloud, --carbon-intensity, --intensity-series, "
        "--pue, --wue, --marginal) are for the emissions of --prometheus HOST:PORT and --server URL");
  }
  char hostname[256] = {};
  ::gethostname(hostname, sizeof hostname - 1);
  auto job = resolve_job(options.job_id, options.node_name, hostname);
  if (!job) throw UsageError(job.error().message);
  set_process_job(job.value());
  std::optional<ResolvedLocation> location;
  if (prometheus_address || !options.server.url.empty()) location = resolve_location_flags(options.location);
  // Declared before the tracker, whose sampler hands it samples until the tracker is destroyed.
  const std::unique_ptr<upload::RunUploader> uploader = make_uploader(
      options.server, options.project_name, options.output_dir, location ? *location : ResolvedLocation{});

  // Block the stop signals in every thread; the main thread waits for them with sigtimedwait.
  const sigset_t stop_signals = block_stop_signals();

  std::vector<std::string> scope_notes;
  TrackerOptions tracker_options;
  tracker_options.interval_s = options.interval_s;
  tracker_options.scope = monitor_scope(options, scope_notes);
  tracker_options.cgroup_path = options.cgroup;
  std::unique_ptr<CgroupLedger> ledger;
  if (options.per_cgroup) {
    auto opened = CgroupLedger::open();
    if (!opened) throw FatalError(opened.error().message);
    ledger = std::move(opened).value();
  }
  tracker_options.rapl_domains = options.rapl_domains;
  tracker_options.gpu_ids = options.gpu_ids;
  tracker_options.output_dir = options.output_dir;
  tracker_options.journal_sync_s = options.journal_sync_s;
  tracker_options.project_name = options.project_name;
  // --prometheus: listening comes first, so that a port in use stops monitor before it measures.
  // (Declared before the tracker, whose sampler notifies `live` until it is destroyed.)
  auto publisher = std::make_shared<metrics::MetricsPublisher>();
  std::unique_ptr<metrics::MetricsServer> server;
  std::unique_ptr<metrics::LiveMetrics> live;
  if (prometheus_address) {
    auto started = metrics::MetricsServer::start(*prometheus_address, publisher);
    if (!started) throw FatalError(started.error().message);
    server = std::move(started).value();
  }
  Tracker::Impl tracker(tracker_options);
  if (server)
    live =
        std::make_unique<metrics::LiveMetrics>([&tracker] { return tracker.report(); }, publisher, location);
  if (live && ledger)
    live->set_cgroup_source([&ledger] {
      std::vector<metrics::CgroupMetrics> out;
      for (const CgroupEnergy& cgroup : ledger->entries())
        for (Component c : {Component::cpu, Component::ram})
          out.push_back({cgroup.path, cgroup.labels.runtime, cgroup.labels.container_id,
                         cgroup.labels.pod_uid, c, cgroup.energy_j[c], cgroup.power_w[c]});
      return out;
    });
  const metrics::StopOnExit stop_live_first{live.get()};  // whatever leaves this scope
  EnergyJ cumulative;
  const bool whole_machine = tracker_options.scope == Scope::machine;
  tracker.set_sample_listener([&, json_lines = options.json_lines](const Sample& sample) {
    const EnergyJ& energy = whole_machine ? sample.machine_energy_j : sample.energy_j;
    cumulative += energy;
    if (ledger) ledger->add(sample);
    std::puts(format_line(sample, energy, cumulative, json_lines, ledger.get()).c_str());
    std::fflush(stdout);
    if (live) live->notify();
    if (uploader) uploader->add(sample);
  });
  if (auto started = tracker.start(); !started) throw FatalError("monitor: " + started.error().message);
  if (uploader) {
    try {
      register_with_server(*uploader, tracker.report().header, options.json_lines);
    } catch (...) {
      tracker.stop();
      throw;
    }
    uploader->start();
  }
  if (live) {
    live->publish(tracker.report());  // the series exist from the first scrape
    live->start();
    if (!options.json_lines)
      std::fprintf(stderr, "carbonmeter monitor: Prometheus metrics at http://%s/metrics\n",
                   options.prometheus.c_str());
  }
  if (!options.json_lines) {
    const RunReport report = tracker.report();
    for (Component c : kComponents) {
      const MethodInfo& m = report.header.methods[c];
      std::fprintf(stderr, "carbonmeter monitor: %s from %s (%s)\n", std::string(component_name(c)).c_str(),
                   m.method.c_str(), m.kind.c_str());
    }
    for (const std::string& note : scope_notes) std::fprintf(stderr, "  note: %s\n", note.c_str());
    for (const std::string& note : tracker.notes()) std::fprintf(stderr, "  note: %s\n", note.c_str());
    if (ledger)
      std::fprintf(stderr, "carbonmeter monitor: per cgroup, containers under %s\n",
                   ledger->hierarchy().c_str());
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
  if (live) live->stop();  // before stop(): the tracker's report is not read while it stops
  tracker.stop();
  RunReport report = tracker.report();
  if (live) live->publish(report);
  std::fputs(format_summary(report).c_str(), stderr);
  if (ledger) std::fputs(format_cgroup_totals(ledger->entries()).c_str(), stderr);
  std::optional<std::string> json_error;
  if (!options.json_path.empty()) {
    nlohmann::json json = report_to_json(report);
    if (ledger) json["cgroups"] = cgroups_json(ledger->entries());
    if (auto written = write_json_file(json, options.json_path); !written)
      json_error = written.error().message;
  }
  // Last, as it may wait for the server (--server-wait): everything else is written, and Ctrl-C
  // ends the wait (what the server has not taken is in the spool by then).
  pthread_sigmask(SIG_UNBLOCK, &stop_signals, nullptr);
  if (uploader) finish_with_server(*uploader, report, false);
  if (json_error) throw FatalError(*json_error);
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
  add_journal_sync_option(*cmd, options->journal_sync_s);
  cmd->add_option("--rapl-domains", options->rapl_domains,
                  "RAPL domains: package,dram (default), psys, or core,uncore");
  cmd->add_option("--gpu-ids", options->gpu_ids, "GPUs to measure: indices or UUIDs (default: all)");
  cmd->add_option(
      "--prometheus", options->prometheus,
      "Serve Prometheus metrics at http://HOST:PORT/metrics, updated every sample (docs/prometheus.md)");
  cmd->add_option("--job-id", options->job_id,
                  "The multi-node job this node's measurement belongs to (default: SLURM_JOB_ID, then "
                  "TORCHELASTIC_RUN_ID)")
      ->check(
          CLI::Validator([](std::string& v) { return v.empty() ? std::string("empty job id") : ""; }, "ID"));
  cmd->add_option("--node-name", options->node_name,
                  "The node's name in the report and metrics (default: host name)")
      ->check(CLI::Validator([](std::string& v) { return v.empty() ? std::string("empty node name") : ""; },
                             "NAME"));
  cmd->add_option("--project-name", options->project_name,
                  "Project name recorded in the report and on --server")
      ->capture_default_str();
  cmd->add_option(
         "--scope", options->scope,
         "machine: the whole host (the default, except inside a container); cgroup: the cgroup given "
         "by --cgroup (inside a container, the default is the container's own)")
      ->check(CLI::IsMember({"machine", "cgroup"}));
  add_cgroup_option(*cmd, options->cgroup);
  cmd->add_flag("--per-cgroup", options->per_cgroup,
                "Also share the machine's CPU and RAM energy among its containers and pods (by CPU time and "
                "memory), in --json-lines, --json and --prometheus (docs/containers.md)");
  add_server_options(*cmd, options->server);
  add_location_options(*cmd, options->location);
  cmd->callback([options, &exit_code] { exit_code = monitor(*options); });
}

}  // namespace carbonmeter::cli
