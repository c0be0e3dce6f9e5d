// carbonmeter run [options] -- CMD [ARGS...]: runs CMD, measures it, prints the summary, exits
// with CMD's exit code.
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cmath>
#include <csignal>
#include <optional>

#include "carbon/embodied.hpp"
#include "carbon/emissions.hpp"
#include "cli/child_process.hpp"
#include "cli/commands.hpp"
#include "cli/location_options.hpp"
#include "cli/plan_execution.hpp"
#include "cli/plan_options.hpp"
#include "cli/scope_options.hpp"
#include "cli/server_options.hpp"
#include "cli/summary.hpp"
#include "core/tracker_impl.hpp"
#include "metrics/live_metrics.hpp"
#include "outputs/emissions_csv.hpp"
#include "sensors/rapl_domains.hpp"

namespace carbonmeter::cli {
namespace {

struct RunOptions {
  double interval_s = 1.0;
  std::string scope;   // "" = process, or cgroup with --cgroup
  std::string cgroup;  // --cgroup PATH
  std::string json_path;
  std::string output_dir = ".";
  double journal_sync_s = TrackerOptions{}.journal_sync_s;
  std::string project_name = "carbonmeter";
  std::string rapl_domains;
  std::string gpu_ids;
  bool quiet = false;
  bool no_csv = false;
  std::string embodied;
  LocationFlags location;
  std::string plan_strategy;  // --plan
  PlanFlags plan;
  std::string pause_signal;
  std::string resume_command;
  std::string prometheus;  // HOST:PORT
  std::string job_id;
  std::string node_name;
  ServerFlags server;
  std::vector<std::string> command;
};

int signal_number(const std::string& name) {
  std::string upper;
  for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper.rfind("SIG", 0) == 0) upper = upper.substr(3);
  static const std::pair<const char*, int> kSignals[] = {
      {"STOP", SIGSTOP}, {"TSTP", SIGTSTP}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2},
      {"INT", SIGINT},   {"TERM", SIGTERM}, {"HUP", SIGHUP},   {"QUIT", SIGQUIT}};
  for (const auto& [known, number] : kSignals)
    if (upper == known) return number;
  throw UsageError("--pause-signal '" + name +
                   "': use STOP (default), TSTP, USR1, USR2, INT, TERM, HUP or QUIT");
}

// The plan, made before anything runs; nullopt without --plan.
std::optional<PlanOutcome> plan_for(const RunOptions& options, const ResolvedLocation& location) {
  if (options.plan_strategy.empty()) {
    if (!options.plan.duration.empty() || !options.plan.window.empty() || !options.plan.not_before.empty() ||
        !options.pause_signal.empty() || !options.resume_command.empty())
      throw UsageError(
          "--duration, --window, --not-before, --pause-signal and --resume-command need --plan STRATEGY");
    return std::nullopt;
  }
  if (!location.series)
    throw UsageError("--plan needs --intensity-series FILE[:COLUMN]: the intensity over time to plan on");
  if (options.plan_strategy != "pause-resume" &&
      (!options.pause_signal.empty() || !options.resume_command.empty()))
    throw UsageError("--pause-signal and --resume-command go with --plan pause-resume");
  PlanFlags flags = options.plan;
  flags.strategy = options.plan_strategy;
  return make_plan(flags, *location.series, unix_now_s());
}

int run_command(const RunOptions& options) {
  if (options.command.empty())
    throw UsageError("run: no command given; usage: carbonmeter run [options] -- CMD [ARGS...]");
  check_interval(options.interval_s);
  check_journal_sync(options.journal_sync_s);
  check_writable_file(options.json_path, "--json");
  if (options.output_dir.empty())
    throw UsageError("--output-dir is empty: name a folder for the run journal");
  if (auto domains = parse_rapl_domains(options.rapl_domains); !domains)
    throw UsageError(domains.error().message);
  if (!options.embodied.empty())
    if (auto valid = amortise_embodied(options.embodied, RunReport{}); !valid)
      throw UsageError(valid.error().message);
  // Where the electricity comes from is settled before the command runs: a wrong option must not
  // cost a run.
  const ResolvedLocation location = resolve_location_flags(options.location);
  std::optional<metrics::ListenAddress> prometheus_address;
  if (!options.prometheus.empty()) {
    auto address = metrics::parse_listen_address(options.prometheus);
    if (!address) throw UsageError(address.error().message);
    prometheus_address = address.value();
  }
  // Declared before the tracker, whose sampler hands it samples until the tracker is destroyed.
  const std::unique_ptr<upload::RunUploader> uploader =
      make_uploader(options.server, options.project_name, options.output_dir, location);
  {
    char hostname[256] = {};
    ::gethostname(hostname, sizeof hostname - 1);
    auto job = resolve_job(options.job_id, options.node_name, hostname);
    if (!job) throw UsageError(job.error().message);
    set_process_job(job.value());  // the tracker's header (and journal) carry it
  }
  const int pause_signal = options.pause_signal.empty() ? SIGSTOP : signal_number(options.pause_signal);
  const std::optional<PlanOutcome> plan = plan_for(options, location);
  if (!plan && location.series && !location.series_fallback) {
    const double now = unix_now_s();
    if (!location.series->covers(now))
      throw FatalError("--intensity-series " + location.series->name() + " does not cover now (" +
                       format_iso8601_utc(now) + "; it spans " +
                       format_iso8601_utc(location.series->start_unix_s()) + " to " +
                       format_iso8601_utc(location.series->end_unix_s()) +
                       "): give a series that does, or a fallback such as --country beside it");
  }

  TrackerOptions tracker_options;
  tracker_options.interval_s = options.interval_s;
  tracker_options.scope = scope_of(options.scope, options.cgroup, Scope::process);
  tracker_options.cgroup_path = options.cgroup;
  tracker_options.rapl_domains = options.rapl_domains;
  tracker_options.gpu_ids = options.gpu_ids;
  tracker_options.output_dir = options.output_dir;
  tracker_options.journal_sync_s = options.journal_sync_s;
  tracker_options.project_name = options.project_name;
  tracker_options.command = options.command;

  if (plan) {
    if (!options.quiet) std::fputs(format_plan(*plan, location.series->name()).c_str(), stderr);
    const double start = plan->plan.intervals.front().first;
    if (start > unix_now_s()) {
      if (!options.quiet)
        std::fprintf(stderr, "carbonmeter: waiting until %s to start (Ctrl-C: give up; nothing runs)\n",
                     format_iso8601_utc(start).c_str());
      sleep_until_unix(start);
    }
  }
  const bool pause_resume = plan && plan->plan.strategy == "pause-resume";

  become_subreaper();
  std::signal(SIGPIPE, SIG_IGN);
  // Signals that arrive before the command runs wait (blocked) and are forwarded once it does.
  const sigset_t forwarded = forwarded_signals();
  sigset_t original_mask;
  ::sigprocmask(SIG_BLOCK, &forwarded, &original_mask);
  auto child = ChildProcess::spawn(options.command, original_mask, pause_resume);
  if (!child) throw FatalError("run: cannot start the command: " + child.error().message);
  auto abandon_child = [&] {
    ::kill(child.value().pid(), SIGKILL);
    child.value().wait(nullptr);
  };
  // --prometheus listens once the child is forked (it holds no copy of any connection) and before
  // it runs: a port in use stops the run before the command starts. Declared before the tracker,
  // whose sampler notifies `live` until it is destroyed.
  auto publisher = std::make_shared<metrics::MetricsPublisher>();
  std::unique_ptr<metrics::MetricsServer> server;
  std::unique_ptr<metrics::LiveMetrics> live;
  if (prometheus_address) {
    auto started = metrics::MetricsServer::start(*prometheus_address, publisher);
    if (!started) {
      abandon_child();
      throw FatalError(started.error().message);
    }
    server = std::move(started).value();
  }
  tracker_options.root_pid = child.value().pid();
  Tracker::Impl tracker(tracker_options);
  tracker.set_tracker_reaps(true);  // the child's rusage comes through add_reaped()
  if (server)
    live =
        std::make_unique<metrics::LiveMetrics>([&tracker] { return tracker.report(); }, publisher, location);
  if (live || uploader)
    tracker.set_sample_listener([live = live.get(), uploader = uploader.get()](const Sample& sample) {
      if (live) live->notify();
      if (uploader) uploader->add(sample);
    });
  const metrics::StopOnExit stop_live_first{live.get()};  // whatever leaves this scope
  try {
    if (auto started = tracker.start(); !started) throw FatalError("run: " + started.error().message);
    // A refusal (wrong key, unknown project) stops the run before the command starts.
    if (uploader) register_with_server(*uploader, tracker.report().header, options.quiet);
  } catch (...) {
    abandon_child();
    if (tracker.running()) tracker.stop();
    throw;
  }
  if (live) {
    live->publish(tracker.report());  // the series exist from the first scrape
    live->start();
  }
  if (uploader) uploader->start();
  forward_signals_to(child.value().pid(), pause_resume);
  int exit_code = 0;
  if (auto released = child.value().release(exit_code); !released) {
    child.value().wait(nullptr);
    stop_forwarding_signals();
    if (live) live->stop();
    tracker.set_exit_code(exit_code);
    tracker.stop();
    std::fprintf(stderr, "carbonmeter: cannot run '%s': %s%s\n", options.command[0].c_str(),
                 released.error().message.c_str(), exit_code == 127 ? " (is it installed and on PATH?)" : "");
    // The wait for the server comes last, and Ctrl-C ends it.
    ::sigprocmask(SIG_SETMASK, &original_mask, nullptr);
    if (uploader) finish_with_server(*uploader, tracker.report(), options.quiet);
    return exit_code;
  }
  ::sigprocmask(SIG_SETMASK, &original_mask, nullptr);
  const double running_since = unix_now_s();
  // A command in a process group of its own reads the terminal only as its foreground group.
  const bool gave_terminal = pause_resume && ::isatty(STDIN_FILENO) &&
                             ::tcgetpgrp(STDIN_FILENO) == ::getpgrp() &&
                             ::tcsetpgrp(STDIN_FILENO, child.value().pid()) == 0;
  std::optional<PauseResumeScheduler> scheduler;
  if (pause_resume) {
    scheduler.emplace(child.value().pid(), plan->plan.intervals, pause_signal, options.resume_command);
    scheduler->start(running_since);
  }
  exit_code = child.value().wait([&](pid_t pid, double cpu_s) { tracker.add_reaped(pid, cpu_s); });
  stop_forwarding_signals();  // the command has ended: Ctrl-C ends carbonmeter from here on
  if (live) live->stop();     // the tracker's report is not read while it stops
  const double ended_at = unix_now_s();
  const std::vector<Interval> ran =
      scheduler ? scheduler->finish(ended_at) : std::vector<Interval>{{running_since, ended_at}};
  const std::vector<std::string> plan_notes = scheduler ? scheduler->notes() : std::vector<std::string>{};
  if (gave_terminal) {  // take the terminal back (from the background: SIGTTOU must not stop us)
    auto previous = std::signal(SIGTTOU, SIG_IGN);
    ::tcsetpgrp(STDIN_FILENO, ::getpgrp());
    std::signal(SIGTTOU, previous);
  }
  if (!options.quiet)
    for (const std::string& note : plan_notes) std::fprintf(stderr, "carbonmeter: plan: %s\n", note.c_str());
  tracker.set_exit_code(exit_code);
  tracker.stop();

  RunReport report = tracker.report();
  if (live) live->publish(report);  // the final figures, served until carbonmeter exits
  auto account = account_emissions(report, location);
  if (!options.quiet) {
    std::fputs(format_summary(report).c_str(), stderr);
    if (account) std::fputs(format_emissions(account.value(), location).c_str(), stderr);
  }
  int status = exit_code;
  auto fail = [&](const std::string& message) {
    std::fprintf(stderr, "carbonmeter: %s\n", message.c_str());
    if (status == 0) status = 1;
  };
  if (!account) fail(account.error().message);
  const std::optional<std::string> uncovered =
      account ? coverage_error(account.value(), location) : std::nullopt;
  if (uncovered) fail(*uncovered);
  std::optional<EmbodiedAccount> embodied;
  if (!options.embodied.empty()) {
    auto amortised = amortise_embodied(options.embodied, report);
    if (amortised) {
      embodied = amortised.value();
      if (!options.quiet)
        std::fprintf(
            stderr,
            "  embodied %.3g g CO2e: manufacturing amortised over %.2f h (%s; apart from the above)\n",
            embodied->total_g, report.duration_s / 3600.0, options.embodied.c_str());
    } else {
      fail(amortised.error().message);
    }
  }
  if (account && !uncovered && !options.no_csv) {
    auto csv = append_emissions_csv(options.output_dir, report, account.value(), location,
                                    embodied ? std::optional<double>(embodied->total_g) : std::nullopt);
    if (!csv)
      fail(csv.error().message);
    else if (!csv.value().backup.empty() && !options.quiet)
      std::fprintf(stderr, "  note: %s had another header: kept as %s\n", csv.value().path.c_str(),
                   csv.value().backup.c_str());
  }
  // What the plan saved, measured: null figures when the run's own emissions could not be accounted.
  nlohmann::json saving;
  if (plan) {
    saving = measured_plan_saving(report, ran, *location.series, plan->request.not_before_unix_s,
                                  location.pue, account ? account.value().emissions_g : std::nan(""));
    saving["notes"] = plan_notes;
  }
  if (plan && account && !options.quiet) {
    if (saving.contains("saved_pct"))
      std::fprintf(
          stderr, "  plan    %.4g g CO2e; %.4g g had it started at %s without pauses: saved %.3g %%\n",
          account.value().emissions_g, saving["immediate_start_emissions_g"].get<double>(),
          format_iso8601_utc(plan->request.not_before_unix_s).c_str(), saving["saved_pct"].get<double>());
  }
  if (!tracker.journal_path().empty() && !options.quiet)
    std::fprintf(stderr, "  journal %s\n", tracker.journal_path().c_str());
  if (!options.json_path.empty()) {
    nlohmann::json json = report_to_json(report);
    if (account) json.update(carbon_json(account.value(), location));
    if (embodied) json.update(embodied_json(*embodied));
    if (plan) {
      json["plan"] = plan_json(*plan);
      json["plan"]["measured"] = saving;
    }
    if (auto written = write_json_file(json, options.json_path); !written) fail(written.error().message);
  }
  // Last, as it may wait for the server (--server-wait): everything else is written, and Ctrl-C
  // ends the wait (what the server has not taken is in the spool by then).
  if (uploader) finish_with_server(*uploader, report, options.quiet);
  return status;
}

}  // namespace

void add_run_command(CLI::App& app, const std::vector<std::string>& after_double_dash, int& exit_code) {
  auto options = std::make_shared<RunOptions>();
  CLI::App* run = app.add_subcommand("run", "Run a command and measure the energy of its process tree");
  run->add_option("--interval", options->interval_s, "Sampling interval in seconds (0.01 to 3600)")
      ->capture_default_str();
  run->add_option("--scope", options->scope,
                  "process (default): the command's process tree; machine: the whole host; cgroup: the "
                  "cgroup given by --cgroup")
      ->check(CLI::IsMember({"process", "machine", "cgroup"}));
  add_cgroup_option(*run, options->cgroup);
  run->add_option("--json", options->json_path, "Write the run report (JSON) to this file");
  run->add_option("--output-dir", options->output_dir, "Folder for the run journal (kept so nothing is lost)")
      ->capture_default_str();
  add_journal_sync_option(*run, options->journal_sync_s);
  run->add_option("--project-name", options->project_name, "Project name recorded in the report")
      ->capture_default_str();
  run->add_option("--rapl-domains", options->rapl_domains,
                  "RAPL domains to count: package,dram (default), psys, or core,uncore");
  run->add_option(
      "--gpu-ids", options->gpu_ids,
      "GPUs to measure: indices or UUIDs, comma-separated (default: CUDA_VISIBLE_DEVICES, else all)");
  run->add_flag("--quiet", options->quiet, "Print no summary");
  run->add_flag("--no-csv", options->no_csv, "Do not append to OUTPUT_DIR/emissions.csv");
  run->add_option(
      "--embodied", options->embodied,
      "Also report manufacturing emissions amortised over the run: auto (a server and its GPUs) or "
      "ITEM[xN],... from data/embodied.csv");
  add_location_options(*run, options->location);
  run->add_option(
         "--plan", options->plan_strategy,
         "Run at the planned time on --intensity-series: flexible-start or pause-resume (docs/plan.md)")
      ->check(CLI::IsMember({"flexible-start", "pause-resume"}));
  add_plan_options(*run, options->plan, false);
  run->add_option(
      "--pause-signal", options->pause_signal,
      "With --plan pause-resume: the signal that pauses the command's process group (default STOP)");
  run->add_option(
      "--prometheus", options->prometheus,
      "Serve Prometheus metrics at http://HOST:PORT/metrics while the command runs, updated every "
      "sample (docs/prometheus.md)");
  run->add_option("--job-id", options->job_id,
                  "The multi-node job this run belongs to (default: SLURM_JOB_ID, then TORCHELASTIC_RUN_ID)")
      ->check(
          CLI::Validator([](std::string& v) { return v.empty() ? std::string("empty job id") : ""; }, "ID"));
  run->add_option("--node-name", options->node_name,
                  "The node's name in the report and metrics (default: host name)")
      ->check(CLI::Validator([](std::string& v) { return v.empty() ? std::string("empty node name") : ""; },
                             "NAME"));
  add_server_options(*run, options->server);
  run->add_option("--resume-command", options->resume_command,
                  "With --plan pause-resume: a shell command that resumes it (default: SIGCONT to the group; "
                  "$CARBONMETER_PGID names the group)");
  // Everything from the first word that is not an option (or after --) is the command.
  run->prefix_command();
  run->allow_extras();
  run->footer("Usage: carbonmeter run [options] -- CMD [ARGS...]");
  run->callback([run, options, &after_double_dash, &exit_code] {
    std::vector<std::string> before = run->remaining();
    if (!before.empty() && before.front().rfind("-", 0) == 0)
      throw UsageError("run: unknown option '" + before.front() + "'; see 'carbonmeter run --help'");
    if (!before.empty() && !after_double_dash.empty())
      throw UsageError("run: unexpected '" + before.front() +
                       "' before --; usage: carbonmeter run [options] -- CMD [ARGS...]");
    options->command = before.empty() ? after_double_dash : before;
    exit_code = run_command(*options);
  });
}

}  // namespace carbonmeter::cli
