#include <fmt/format.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>

#include "core/cgroup_scope.hpp"
#include "core/container.hpp"
#include "core/process_tree.hpp"
#include "core/tracker_impl.hpp"

namespace carbonmeter {
namespace {

constexpr double kMinIntervalS = 0.01;
constexpr double kMaxIntervalS = 3600.0;
// Process and cgroup scope: CPU-time shares carry tick quantisation and lag; resident memory counts shared
// pages once per process.
constexpr double kCpuAttributionUncertainty = 0.05;
constexpr double kRamAttributionUncertainty = 0.25;

// 20261123T184740.123-PID-R: R is 32 random bits, so that runs started in the same millisecond
// with the same PID (containers, where the PID is often 1) on different nodes still differ.
std::string make_run_id(double start_unix_s) {
  std::string iso = format_iso8601_utc(start_unix_s);  // 2026-11-23T18:47:40.123Z
  std::string compact;
  for (char c : iso.substr(0, 23))
    if (c != '-' && c != ':') compact += c;
  std::uint32_t random = 0;
  if (::getrandom(&random, sizeof random, 0) != static_cast<ssize_t>(sizeof random)) {
    static std::atomic<std::uint32_t> starts{0};  // no entropy: still unique within this process
    random = starts.fetch_add(1) ^
             static_cast<std::uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }
  return fmt::format("{}-{}-{:08x}", compact, ::getpid(), random);
}

// Sharing a machine's energy out by CPU time and resident memory adds its own error
// (docs/methodology.md): it is combined with the sensor's.
void add_attribution_uncertainty(PerComponent<MethodInfo>& methods, Scope scope) {
  if (scope == Scope::machine) return;
  for (auto [component, attribution] : {std::pair{Component::cpu, kCpuAttributionUncertainty},
                                        std::pair{Component::ram, kRamAttributionUncertainty}}) {
    MethodInfo& method = methods[component];
    if (method.method != "none" && method.method != "included-in-psys")
      method.relative_uncertainty = std::hypot(method.relative_uncertainty, attribution);
  }
}

}  // namespace

const char* scope_name(Scope scope) {
  switch (scope) {
    case Scope::machine:
      return "machine";
    case Scope::cgroup:
      return "cgroup";
    case Scope::process:
      break;
  }
  return "process";
}

double unix_now_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Status Tracker::Impl::start() {
  if (running_) return Error{"the tracker is already running"};
  if (!std::isfinite(options_.interval_s) || options_.interval_s < kMinIntervalS ||
      options_.interval_s > kMaxIntervalS)
    return Error{fmt::format("interval {} s is out of range: use {} to {} s", options_.interval_s,
                             kMinIntervalS, kMaxIntervalS)};
  if (!std::isfinite(options_.journal_sync_s) || options_.journal_sync_s < 0 ||
      options_.journal_sync_s > kMaxIntervalS)
    return Error{fmt::format(
        "journal sync period {} s is out of range: set TrackerOptions::journal_sync_s to 0 to {} s",
        options_.journal_sync_s, kMaxIntervalS)};
  auto sensors = probe_sensors({options_.rapl_domains, false, options_.gpu_ids});
  if (!sensors) return sensors.error();

  double interval_s = options_.interval_s;
  for (const ActiveSensor& active : sensors.value().sensors) {
    const double limit_s = active.sensor->max_interval_s();
    if (interval_s > limit_s) {
      interval_s = std::max(kMinIntervalS, limit_s);
      sensors.value().notes.push_back(
          fmt::format("interval shortened to {:.3g} s so that {} counters cannot wrap unseen between samples",
                      interval_s, active.sensor->method()));
    }
  }

  header_ = RunHeader{};
  header_.start_unix_s = unix_now_s();
  header_.run_id = make_run_id(header_.start_unix_s);
  header_.project_name = options_.project_name;
  header_.command = options_.command;
  header_.scope = scope_name(options_.scope);
  header_.root_pid = options_.root_pid > 0 ? options_.root_pid : ::getpid();
  std::unique_ptr<UsageSource> usage;
  if (options_.scope == Scope::process) {
    usage =
        std::make_unique<ProcessTree>(header_.root_pid, std::clamp(interval_s, 0.25, 1.0), tracker_reaps_);
  } else if (options_.scope == Scope::cgroup) {
    auto cgroup = open_cgroup(options_.cgroup_path);
    if (!cgroup)
      return Error{"cannot measure cgroup " + options_.cgroup_path + ": " + cgroup.error().message};
    header_.cgroup = cgroup.value().cpu_folder();
    usage = std::make_unique<CgroupScope>(std::move(cgroup).value());
  }
  header_.interval_s = interval_s;
  char hostname[256] = {};
  ::gethostname(hostname, sizeof hostname - 1);
  header_.hostname = hostname;
  if (auto cpu = read_cpuinfo()) header_.cpu_model = cpu.value().model_name;
  header_.methods = sensors.value().methods;
  header_.notes = sensors.value().notes;
  if (std::string note = container_note(detect_container(), header_.methods[Component::cpu]); !note.empty())
    header_.notes.push_back(std::move(note));
  add_attribution_uncertainty(header_.methods, options_.scope);

  journal_.reset();
  if (!options_.output_dir.empty()) {
    auto journal = JournalWriter::create(options_.output_dir, header_, options_.journal_sync_s);
    if (!journal) return journal.error();
    journal_ = std::move(journal).value();
  }
  JournalWriter* journal = journal_.get();
  sampler_ = std::make_unique<Sampler>(std::move(sensors).value(), std::move(usage), interval_s,
                                       [journal, listener = listener_](const Sample& sample) {
                                         if (journal) journal->append(sample);
                                         if (listener) listener(sample);
                                       });
  if (journal) {
    sampler_->set_note_listener([journal](const std::string& note) { journal->note(note); });
    sampler_->set_after_sample([journal] { journal->sync_if_due(); });
  }
  if (auto started = sampler_->start(); !started) {
    sampler_.reset();
    journal_.reset();
    return Error{std::string(options_.scope == Scope::cgroup ? "cannot measure the cgroup: "
                                                             : "cannot measure the process tree: ") +
                 started.error().message};
  }
  {
    std::lock_guard lock(windows_mutex_);
    windows_.clear();  // windows of an earlier run belong to its sampler
  }
  final_report_.reset();
  running_ = true;
  return Ok{};
}

Measurement Tracker::Impl::measurement_since(const std::string& name, double start_unix_s,
                                             double start_elapsed_s, const Totals& start,
                                             const Totals& end) const {
  Measurement m;
  m.name = name;
  m.start_unix_s = start_unix_s;
  m.duration_s = end.elapsed_s - start_elapsed_s;
  m.energy_j = end.energy_j - start.energy_j;
  m.machine_energy_j = end.machine_energy_j - start.machine_energy_j;
  m.method = sampler_ ? sampler_->methods() : header_.methods;
  add_attribution_uncertainty(m.method, options_.scope);
  return m;
}

Measurement Tracker::Impl::stop() {
  if (!running_) return final_report_ ? report_measurement(*final_report_) : Measurement{};
  sampler_->stop();
  running_ = false;
  header_.process_tree_source = sampler_->tree_source();
  if (tracker_reaps_ && options_.scope == Scope::process) {
    // The command has exited; descendants it left running are not its run any more.
    if (const int left = sampler_->processes_alive(); left > 0)
      header_.notes.push_back(
          fmt::format("{} process{} started by the command still ran when it exited; "
                      "their energy after that is not counted",
                      left, left == 1 ? "" : "es"));
  }
  if (journal_ && journal_->failed())
    header_.notes.push_back("the journal " + journal_->path() + " could not be written completely (" +
                            journal_->failure() + "): recovery from it would miss the end of the run");
  {
    std::lock_guard lock(windows_mutex_);
    windows_.clear();
  }
  RunReport report = this->report();
  if (journal_) journal_->finish(report.duration_s, exit_code_);
  final_report_ = report;
  return report_measurement(report);
}

RunReport Tracker::Impl::report() const {
  if (final_report_ && !running_) {
    RunReport out = *final_report_;
    out.exit_code = exit_code_;
    return out;
  }
  RunReport report;
  report.header = header_;
  if (!sampler_) return report;
  Totals totals = sampler_->totals();
  report.duration_s = totals.elapsed_s;
  report.energy_j = totals.energy_j;
  report.machine_energy_j = totals.machine_energy_j;
  report.devices = sampler_->devices();
  report.samples = sampler_->series();
  report.samples_per_point = sampler_->samples_per_point();
  report.sample_count = sampler_->sample_count();
  report.exit_code = exit_code_;
  report.header.notes = notes();
  report.header.methods = sampler_->methods();
  add_attribution_uncertainty(report.header.methods, options_.scope);
  return report;
}

std::vector<std::string> Tracker::Impl::notes() const {
  std::vector<std::string> out = header_.notes;
  if (sampler_)
    for (std::string& note : sampler_->notes()) out.push_back(std::move(note));
  return out;
}

Status Tracker::Impl::begin_window(const std::string& name) {
  if (!running_) return Error{"begin_window('" + name + "'): the tracker is not running; call start() first"};
  std::lock_guard lock(windows_mutex_);
  if (windows_.count(name)) return Error{"window '" + name + "' is already open: end or cancel it first"};
  if (options_.window_sync) options_.window_sync();
  windows_[name] = {unix_now_s(), sampler_->boundary_totals()};
  return Ok{};
}

Result<Measurement> Tracker::Impl::end_window(const std::string& name) {
  std::lock_guard lock(windows_mutex_);
  auto it = windows_.find(name);
  if (it == windows_.end()) return Error{"end_window('" + name + "'): no window of that name is open"};
  if (options_.window_sync && running_) options_.window_sync();
  Totals end = running_ ? sampler_->boundary_totals() : sampler_->totals();
  Measurement m =
      measurement_since(name, it->second.start_unix_s, it->second.start.elapsed_s, it->second.start, end);
  windows_.erase(it);
  return m;
}

Status Tracker::Impl::cancel_window(const std::string& name) {
  std::lock_guard lock(windows_mutex_);
  if (!windows_.erase(name)) return Error{"cancel_window('" + name + "'): no window of that name is open"};
  return Ok{};
}

Measurement Tracker::Impl::current() {
  if (!sampler_) return {};
  Totals now = running_ ? sampler_->sample_now() : sampler_->totals();
  return measurement_since("current", header_.start_unix_s, 0.0, Totals{}, now);
}

void Tracker::Impl::add_reaped(pid_t pid, double cpu_s) {
  if (sampler_) sampler_->add_reaped(pid, cpu_s);
}

const std::string& Tracker::Impl::journal_path() const {
  static const std::string none;
  return journal_ ? journal_->path() : none;
}

double Tracker::Impl::interval_s() const { return header_.interval_s; }

// The public facade.
Tracker::Tracker(TrackerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Tracker::~Tracker() {
  if (impl_ && impl_->running()) impl_->stop();
}
Status Tracker::start() { return impl_->start(); }
Measurement Tracker::stop() { return impl_->stop(); }
bool Tracker::running() const { return impl_->running(); }
Status Tracker::begin_window(const std::string& name) { return impl_->begin_window(name); }
Result<Measurement> Tracker::end_window(const std::string& name) { return impl_->end_window(name); }
Status Tracker::cancel_window(const std::string& name) { return impl_->cancel_window(name); }
Measurement Tracker::current() { return impl_->current(); }
std::string Tracker::report_json() const { return dump_json(report_to_json(impl_->report()), 2); }
void Tracker::set_exit_code(int exit_code) { impl_->set_exit_code(exit_code); }
std::vector<std::string> Tracker::notes() const { return impl_->notes(); }

}  // namespace carbonmeter
