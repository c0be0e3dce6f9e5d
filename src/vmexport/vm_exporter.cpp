#include "vmexport/vm_exporter.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>

#include "core/roots.hpp"
#include "core/run_report.hpp"
#include "core/text_file.hpp"
#include "sensors/rapl_powercap.hpp"
#include "sensors/registry.hpp"
#include "vmexport/folder_names.hpp"

namespace carbonmeter::vmexport {
namespace {

using nlohmann::json;

// What sharing the host's energy out adds to the host's uncertainty: the causes of --scope process
// (docs/methodology.md), CPU-time ticks and shared pages; the guest combines it with the host's.
constexpr double kCpuAttributionUncertainty = 0.05;
constexpr double kRamAttributionUncertainty = 0.25;
constexpr double kMinSamplerIntervalS = 0.01;
constexpr double kMaxSamplerIntervalS = 3600.0;
// Held (flock) while an exporter writes the folder; holds its pid. A leading '.': no VM's folder.
constexpr const char* kLockFile = ".carbonmeter-vm-export.lock";

json method_json(const MethodInfo& method) {
  return {{"method", method.method},
          {"kind", method.kind},
          {"relative_uncertainty", method.relative_uncertainty}};
}

json energy_json(const EnergyJ& energy) {
  return {{"cpu", energy[Component::cpu]}, {"ram", energy[Component::ram]}};
}

double unix_now_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

}  // namespace

VmExporter::VmExporter(ExportOptions options) : options_(std::move(options)), hostname_(host_name()) {
  while (options_.dir.size() > 1 && options_.dir.back() == '/') options_.dir.pop_back();
}

VmExporter::~VmExporter() {
  if (sampler_) sampler_->stop();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

double VmExporter::now_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time_).count();
}

void VmExporter::message(std::string line) {
  std::lock_guard lock(messages_mutex_);
  messages_.push_back(std::move(line));
}

std::vector<std::string> VmExporter::take_messages() {
  std::lock_guard lock(messages_mutex_);
  return std::exchange(messages_, {});
}

Status VmExporter::check_dir() {
  const std::string& dir = options_.dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return Error{"--dir " + dir + ": cannot create it (" + ec.message() +
                 "): choose a folder this user may create or write in"};
  if (!std::filesystem::is_directory(dir, ec)) return Error{"--dir " + dir + " is not a folder"};
  // Written for real rather than asked with access(): root, read-only mounts and ACLs all answer.
  if (auto written = write_file_atomically(dir + "/" + kExportStatusFile, "{}\n"); !written)
    return Error{"--dir " + dir + " is not writable (" + written.error().message +
                 "): choose a folder this user may write in"};
  // One exporter per folder: two would share the same energy out twice.
  const std::string lock_path = dir + "/" + kLockFile;
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) return Error{"--dir " + dir + ": cannot open " + lock_path + ": " + std::strerror(errno)};
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    auto holder = read_text_file(lock_path);
    const std::string pid = holder ? std::string(trim(holder.value())) : std::string();
    return Error{"--dir " + dir + " is already written by another carbonmeter vm-export" +
                 (pid.empty() ? std::string() : " (pid " + pid + ")") +
                 ": stop it first, or choose another folder"};
  }
  // The pid is only for that message: the lock holds whether or not it is written.
  const std::string self = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock_fd_, 0) == 0) (void)!::pwrite(lock_fd_, self.data(), self.size(), 0);
  return Ok{};
}

Status VmExporter::probe_host() {
  // The host's CPU and RAM, as `carbonmeter monitor` measures them; GPUs are not shared out.
  auto sensors = probe_sensors({"", false, "-1"});
  if (!sensors) return sensors.error();
  SensorSet set = std::move(sensors).value();
  std::erase_if(set.sensors, [](const ActiveSensor& active) {
    return !active.counted[Component::cpu] && !active.counted[Component::ram];
  });
  set.methods[Component::gpu] = MethodInfo{};
  if (set.methods[Component::cpu].method == "none") {
    std::string why;
    for (const std::string& note : set.notes) why += (why.empty() ? "" : "; ") + note;
    return Error{"the host's CPU energy can be neither measured nor estimated (" + why +
                 "): `carbonmeter hardware` says what is missing"};
  }
  for (const std::string& note : set.notes)
    if (note.rfind("GPU energy", 0) != 0) message("note: " + note);
  // The sampler's own thread only guards against counter wraps; update() samples every interval.
  double wrap_safe_s = kMaxSamplerIntervalS;
  for (const ActiveSensor& active : set.sensors)
    wrap_safe_s = std::min(wrap_safe_s, active.sensor->max_interval_s());
  sampler_ = std::make_unique<Sampler>(std::move(set), nullptr, std::max(kMinSamplerIntervalS, wrap_safe_s),
                                       nullptr);
  sampler_->set_note_listener([this](const std::string& note) { message("note: " + note); });
  if (auto started = sampler_->start(); !started) return started.error();
  host_methods_ = sampler_->methods();
  const std::string& ram = host_methods_[Component::ram].method;
  exports_ram_ = ram != "none" && ram != "included-in-psys";
  return Ok{};
}

void VmExporter::read_claims() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(options_.dir, ec)) {
    if (!entry.is_directory(ec)) continue;
    PreviousExport previous = read_previous_export(entry.path().string());
    if (previous.ours && previous.pid)
      claims_[entry.path().filename().string()] = {*previous.pid, previous.start_ticks};
  }
}

void VmExporter::mark_gone_claims_stopped(const std::vector<VmProcess>& found) {
  // Folders of VMs that are no longer running (stopped while no vm-export ran): marked stopped.
  for (const auto& entry : claims_) {
    const Claim& claim = entry.second;  // not a structured binding: clang before 16 cannot capture one
    if (std::any_of(found.begin(), found.end(),
                    [&](const VmProcess& vm) { return vm.same_process(claim.pid, claim.start_ticks); }))
      continue;
    const std::string folder_dir = options_.dir + "/" + entry.first;
    PreviousExport previous = read_previous_export(folder_dir);
    if (!previous.marker.is_object() || previous.state == "stopped") continue;
    previous.marker["vm"]["state"] = "stopped";
    previous.marker["exporting"] = true;
    previous.marker["updated_unix_s"] = started_unix_s_;
    previous.marker["updated"] = format_iso8601_utc(started_unix_s_);
    check_write(write_file_atomically(folder_dir + "/" + kHostExportMarkerFile,
                                      dump_json(previous.marker, 2) + "\n"));
  }
}

std::string VmExporter::choose_folder(const VmProcess& vm, const std::vector<VmProcess>& found) const {
  auto in_use = [&](const std::string& folder) {
    return std::any_of(vms_.begin(), vms_.end(),
                       [&](const TrackedVm& t) { return t.running() && t.folder == folder; });
  };
  // The folder an earlier vm-export wrote for this very process.
  for (const auto& [folder, claim] : claims_)
    if (vm.same_process(claim.pid, claim.start_ticks) && !in_use(folder)) return folder;
  // Else by name: a VM that started again gets its folder back, and its counters go on.
  auto taken = [&](const std::string& folder) {
    if (in_use(folder)) return true;
    if (auto claim = claims_.find(folder); claim != claims_.end()) {
      const Claim& c = claim->second;
      const bool claimed_by_another_live_vm =
          !vm.same_process(c.pid, c.start_ticks) &&
          std::any_of(found.begin(), found.end(),
                      [&](const VmProcess& other) { return other.same_process(c.pid, c.start_ticks); });
      if (claimed_by_another_live_vm) return true;
    }
    const PreviousExport previous = read_previous_export(options_.dir + "/" + folder);
    return previous.exists && !previous.ours;  // something else lives there: left alone
  };
  return unique_folder_name(folder_name_for(vm.name), taken);
}

void VmExporter::adopt(const VmProcess& vm, const std::vector<VmProcess>& found) {
  const std::string folder = choose_folder(vm, found);
  auto tree = std::make_unique<ProcessTree>(vm.pid, std::clamp(options_.interval_s, 0.25, 1.0), false);
  if (!tree->start()) return;  // gone already
  // A stopped VM of this run that had the folder gives it up to the one that follows it.
  std::erase_if(vms_, [&](const TrackedVm& t) { return !t.running() && t.folder == folder; });

  const std::string folder_dir = options_.dir + "/" + folder;
  const PreviousExport previous = read_previous_export(folder_dir);
  TrackedVm tracked;
  tracked.id = next_id_++;
  tracked.process = vm;
  tracked.folder = folder;
  tracked.cpu = ZoneCounter(previous.cpu_total_uj);
  tracked.ram = ZoneCounter(previous.ram_total_uj);
  tracked.exported_since_unix_s = unix_now_s();
  if (previous.pid && vm.same_process(*previous.pid, previous.start_ticks)) {
    const json& record = previous.marker.at("vm");  // there: the pid was read from it
    if (auto since = record.find("exported_since_unix_s"); since != record.end() && since->is_number())
      tracked.exported_since_unix_s = since->get<double>();
  }
  tracked.last_cpu_s = tree->sample(now_s()).cpu_s;
  tracked.tree = std::move(tree);

  check_write(write_zone_identity(folder_dir + "/" + kCpuZone, "package-0"));
  if (exports_ram_) check_write(write_zone_identity(folder_dir + "/" + kRamZone, "dram"));
  claims_[folder] = {vm.pid, vm.start_ticks};
  const bool continued = previous.cpu_total_uj > 0 || previous.ram_total_uj > 0;
  message(fmt::format("VM '{}' (pid {}, {}): {}{}", vm.name, vm.pid, vm.program, folder_dir,
                      continued ? " (its counters go on from the values already there)" : ""));
  said_no_vm_ = false;
  vms_.push_back(std::move(tracked));
  write_vm(vms_.back());
}

void VmExporter::stop(TrackedVm& vm) {
  vm.tree.reset();
  splitter_.forget(vm.id);
  vm.stopped_unix_s = unix_now_s();
  vm.last = VmShare{};
  write_vm(vm);
  message(fmt::format("VM '{}' (pid {}) stopped: {}/{} stays, marked stopped", vm.process.name,
                      vm.process.pid, options_.dir, vm.folder));
}

Status VmExporter::start() {
  if (auto checked = check_dir(); !checked) return checked;
  if (auto probed = probe_host(); !probed) return probed;
  auto cpu = machine_.cpu_time();
  if (!cpu)
    return Error{cpu.error().message +
                 ": vm-export shares the host's energy by CPU time and cannot do without it"};
  last_busy_s_ = cpu.value().busy_s;
  last_machine_j_ = sampler_->totals().machine_energy_j;
  start_time_ = std::chrono::steady_clock::now();
  started_unix_s_ = updated_unix_s_ = unix_now_s();

  read_claims();
  const std::vector<VmProcess> found = find_vm_processes();
  mark_gone_claims_stopped(found);
  for (const VmProcess& vm : found) adopt(vm, found);
  if (vms_.empty()) {
    message("no VM is running (no qemu-system-*, qemu-kvm or kvm process in " + procfs_root() +
            "): waiting; a VM that starts is picked up within an interval");
    said_no_vm_ = true;
  }
  write_status();
  return Ok{};
}

void VmExporter::update() {
  const double t_s = now_s();
  last_dt_s_ = t_s - last_t_s_;
  last_t_s_ = t_s;
  updated_unix_s_ = unix_now_s();

  // The host's energy since the last update, then at once the CPU times and memory to share it by.
  const Totals totals = sampler_->sample_now(true);
  last_interval_j_ = totals.machine_energy_j - last_machine_j_;
  last_machine_j_ = totals.machine_energy_j;
  HostInterval host;
  host.cpu_j = last_interval_j_[Component::cpu];
  host.ram_j = exports_ram_ ? last_interval_j_[Component::ram] : 0.0;
  if (auto cpu = machine_.cpu_time()) {
    host.busy_s = std::max(0.0, cpu.value().busy_s - last_busy_s_);
    last_busy_s_ = cpu.value().busy_s;
  } else if (!std::exchange(stat_failed_, true)) {
    message("note: " + cpu.error().message + ": the energy waits until the CPU times can be read again");
  }
  if (auto memory = machine_.memory()) {
    host.used_bytes = memory.value().used_bytes();
  } else if (!std::exchange(meminfo_failed_, true)) {
    message("note: " + memory.error().message + ": RAM energy waits until memory in use can be read again");
  }
  std::vector<VmUsage> usage;
  std::vector<TrackedVm*> running;
  for (TrackedVm& vm : vms_) {
    if (!vm.running()) continue;
    const ProcessTreeUsage tree = vm.tree->sample(t_s);
    usage.push_back({vm.id, std::max(0.0, tree.cpu_s - vm.last_cpu_s), tree.rss_bytes});
    vm.last_cpu_s = tree.cpu_s;
    running.push_back(&vm);
  }
  const Split split = splitter_.split(host, usage);
  for (std::size_t i = 0; i < running.size(); ++i) {
    running[i]->cpu.add(split.vms[i].cpu_j);
    running[i]->ram.add(split.vms[i].ram_j);
    running[i]->last = split.vms[i];
    to_vms_j_[Component::cpu] += split.vms[i].cpu_j;
    to_vms_j_[Component::ram] += split.vms[i].ram_j;
  }
  measured_j_[Component::cpu] += host.cpu_j;
  measured_j_[Component::ram] += host.ram_j;
  host_own_j_[Component::cpu] += split.host_cpu_j;
  host_own_j_[Component::ram] += split.host_ram_j;
  pending_j_[Component::cpu] = split.pending_cpu_j;
  pending_j_[Component::ram] = split.pending_ram_j;

  // VMs that stopped, and VMs that started (their time counts from the next interval).
  const std::vector<VmProcess> found = find_vm_processes();
  for (TrackedVm& vm : vms_) {
    if (!vm.running()) continue;
    const bool alive = std::any_of(found.begin(), found.end(), [&](const VmProcess& p) {
      return p.same_process(vm.process.pid, vm.process.start_ticks);
    });
    if (alive)
      write_vm(vm);
    else
      stop(vm);
  }
  for (const VmProcess& vm : found) {
    const bool tracked = std::any_of(vms_.begin(), vms_.end(), [&](const TrackedVm& t) {
      return t.running() && vm.same_process(t.process.pid, t.process.start_ticks);
    });
    if (!tracked) adopt(vm, found);
  }
  const bool any_running =
      std::any_of(vms_.begin(), vms_.end(), [](const TrackedVm& t) { return t.running(); });
  if (!any_running && !std::exchange(said_no_vm_, true))
    message("no VM is running now: waiting; a VM that starts is picked up within an interval");
  write_status();
}

void VmExporter::finish() {
  if (!sampler_) return;
  update();
  exporting_ = false;
  for (const TrackedVm& vm : vms_)
    if (vm.running()) write_vm(vm);
  write_status();
  sampler_->stop();
}

json VmExporter::marker_json(const TrackedVm& vm) const {
  const double dt_s = last_dt_s_ > 0 ? last_dt_s_ : options_.interval_s;
  const double updated = vm.running() ? updated_unix_s_ : vm.stopped_unix_s;
  return {{"format", kHostExportFormat},
          {"vm",
           {{"name", vm.process.name},
            {"uuid", vm.process.identity.uuid},
            {"pid", vm.process.pid},
            {"start_ticks", vm.process.start_ticks},
            {"program", vm.process.program},
            {"state", vm.running() ? "running" : "stopped"},
            {"exported_since_unix_s", vm.exported_since_unix_s},
            {"stopped_unix_s", vm.running() ? json(nullptr) : json(vm.stopped_unix_s)}}},
          {"folder", vm.folder},
          {"exporting", exporting_},
          {"exporter_pid", ::getpid()},
          {"interval_s", options_.interval_s},
          {"updated_unix_s", updated},
          {"updated", format_iso8601_utc(updated)},
          {"host",
           {{"hostname", hostname_},
            {"cpu", method_json(host_methods_[Component::cpu])},
            {"ram", method_json(exports_ram_ ? host_methods_[Component::ram] : MethodInfo{})}}},
          {"attribution",
           {{"cpu",
             {{"by", "CPU time of the VM's processes / busy CPU time of the host"},
              {"relative_uncertainty", kCpuAttributionUncertainty}}},
            {"ram",
             {{"by", "resident memory of the VM's processes / memory in use on the host"},
              {"relative_uncertainty", kRamAttributionUncertainty}}}}},
          {"zones", {{"cpu", kCpuZone}, {"ram", exports_ram_ ? json(kRamZone) : json(nullptr)}}},
          {"energy_uj_total", {{"cpu", vm.cpu.total_uj()}, {"ram", vm.ram.total_uj()}}},
          {"last_interval",
           {{"dt_s", last_dt_s_},
            {"cpu_share", vm.last.cpu_share},
            {"ram_share", vm.last.ram_share},
            {"cpu_power_w", vm.last.cpu_j / dt_s},
            {"ram_power_w", vm.last.ram_j / dt_s}}}};
}

void VmExporter::write_vm(const TrackedVm& vm) {
  const std::string folder_dir = options_.dir + "/" + vm.folder;
  // The counters first, then the marker that says up to when they hold.
  check_write(write_zone_counter(folder_dir + "/" + kCpuZone, vm.cpu));
  if (exports_ram_) check_write(write_zone_counter(folder_dir + "/" + kRamZone, vm.ram));
  check_write(
      write_file_atomically(folder_dir + "/" + kHostExportMarkerFile, dump_json(marker_json(vm), 2) + "\n"));
}

json VmExporter::last_update() const {
  const double dt_s = last_dt_s_ > 0 ? last_dt_s_ : options_.interval_s;
  json vms = json::array();
  for (const TrackedVm& vm : vms_)
    vms.push_back({{"name", vm.process.name},
                   {"folder", vm.folder},
                   {"pid", vm.process.pid},
                   {"state", vm.running() ? "running" : "stopped"},
                   {"cpu_share", vm.last.cpu_share},
                   {"ram_share", vm.last.ram_share},
                   {"power_w", {{"cpu", vm.last.cpu_j / dt_s}, {"ram", vm.last.ram_j / dt_s}}},
                   {"energy_j",
                    {{"cpu", static_cast<double>(vm.cpu.total_uj()) * 1e-6},
                     {"ram", static_cast<double>(vm.ram.total_uj()) * 1e-6}}}});
  return {
      {"t_s", last_t_s_},
      {"dt_s", last_dt_s_},
      {"host_power_w",
       {{"cpu", last_interval_j_[Component::cpu] / dt_s}, {"ram", last_interval_j_[Component::ram] / dt_s}}},
      {"vms", vms}};
}

void VmExporter::write_status() {
  json vms = last_update()["vms"];
  json status = {{"format", "carbonmeter-vm-export/1"},
                 {"exporter",
                  {{"pid", ::getpid()},
                   {"hostname", hostname_},
                   {"started_unix_s", started_unix_s_},
                   {"updated_unix_s", updated_unix_s_},
                   {"updated", format_iso8601_utc(updated_unix_s_)},
                   {"interval_s", options_.interval_s},
                   {"exporting", exporting_}}},
                 {"host",
                  {{"cpu", method_json(host_methods_[Component::cpu])},
                   {"ram", method_json(host_methods_[Component::ram])},
                   {"ram_exported", exports_ram_}}},
                 // Every joule the host measured since start: given to VMs, kept by the host (its own
                 // work, idle with no VM running), or waiting for the next shares.
                 {"energy_j_since_start",
                  {{"measured", energy_json(measured_j_)},
                   {"vms", energy_json(to_vms_j_)},
                   {"host", energy_json(host_own_j_)},
                   {"pending", energy_json(pending_j_)}}},
                 {"vms", vms}};
  check_write(write_file_atomically(options_.dir + "/" + kExportStatusFile, dump_json(status, 2) + "\n"));
}

void VmExporter::check_write(const Status& written) {
  if (written) return;
  if (!std::exchange(write_failed_, true))
    message("note: " + written.error().message +
            " (said once; the export is stale while it cannot be written)");
}

}  // namespace carbonmeter::vmexport
