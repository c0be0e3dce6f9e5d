// The work of `carbonmeter vm-export` (docs/vm_export.md): every interval the host's CPU and RAM
// energy, read with its ordinary sensors in machine scope, is shared among the running VMs
// (energy_split.hpp) and written to each VM's folder (export_folder.hpp). VMs that start are given
// a folder at the next interval; the folder of a VM that stops stays, marked stopped.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "carbonmeter/measurement.hpp"
#include "carbonmeter/result.hpp"
#include "core/proc_stat.hpp"
#include "core/process_tree.hpp"
#include "core/sampler.hpp"
#include "vmexport/energy_split.hpp"
#include "vmexport/export_folder.hpp"
#include "vmexport/vm_discovery.hpp"

namespace carbonmeter::vmexport {

struct ExportOptions {
  std::string dir;
  double interval_s = 1.0;
};

class VmExporter {
 public:
  explicit VmExporter(ExportOptions options);
  ~VmExporter();
  VmExporter(const VmExporter&) = delete;
  VmExporter& operator=(const VmExporter&) = delete;

  // Makes DIR and checks that it can be written, probes the host's sensors, takes the baseline and
  // writes the folders of the VMs running now. Fails when DIR cannot be written, when the host's CPU
  // energy can be neither measured nor estimated, or when /proc/stat cannot be read.
  Status start();
  // One interval: shares the energy measured since the last update, writes every folder, and looks
  // for VMs that started or stopped.
  void update();
  // A last update; then every folder says that it is no longer updated.
  void finish();
  // What happened since the last call (VMs found or stopped, notes), a line each.
  std::vector<std::string> take_messages();
  // The last update, for --json-lines.
  nlohmann::json last_update() const;
  const PerComponent<MethodInfo>& host_methods() const { return host_methods_; }
  bool exports_ram() const { return exports_ram_; }

 private:
  struct TrackedVm {
    std::uint64_t id = 0;
    VmProcess process;
    std::string folder;
    std::unique_ptr<ProcessTree> tree;  // null once the VM stopped
    double last_cpu_s = 0.0;
    ZoneCounter cpu;
    ZoneCounter ram;
    double exported_since_unix_s = 0.0;
    double stopped_unix_s = 0.0;
    VmShare last;  // of the last interval
    bool running() const { return tree != nullptr; }
  };
  // What the markers in DIR said at start: the process each folder was written for.
  struct Claim {
    pid_t pid = 0;
    std::uint64_t start_ticks = 0;
  };

  Status check_dir();
  Status probe_host();
  void read_claims();
  void mark_gone_claims_stopped(const std::vector<VmProcess>& found);
  void adopt(const VmProcess& vm, const std::vector<VmProcess>& found);
  std::string choose_folder(const VmProcess& vm, const std::vector<VmProcess>& found) const;
  void stop(TrackedVm& vm);
  void write_vm(const TrackedVm& vm);
  void write_status();
  nlohmann::json marker_json(const TrackedVm& vm) const;
  void check_write(const Status& written);
  void message(std::string line);
  double now_s() const;

  ExportOptions options_;
  std::string hostname_;
  std::unique_ptr<Sampler> sampler_;
  MachineStatReader machine_;
  PerComponent<MethodInfo> host_methods_;
  bool exports_ram_ = false;
  EnergySplitter splitter_;
  std::vector<TrackedVm> vms_;
  std::map<std::string, Claim> claims_;  // folder -> process
  std::uint64_t next_id_ = 1;
  bool exporting_ = true;
  int lock_fd_ = -1;  // flock on DIR/.carbonmeter-vm-export.lock while this exporter runs

  std::chrono::steady_clock::time_point start_time_;
  double started_unix_s_ = 0.0;
  double last_t_s_ = 0.0;
  double last_dt_s_ = 0.0;
  double updated_unix_s_ = 0.0;
  double last_busy_s_ = 0.0;
  EnergyJ last_machine_j_;
  EnergyJ last_interval_j_;
  // Since start: what the host measured, and where it went.
  EnergyJ measured_j_;
  EnergyJ to_vms_j_;
  EnergyJ host_own_j_;
  EnergyJ pending_j_;

  bool said_no_vm_ = false;
  bool stat_failed_ = false;
  bool meminfo_failed_ = false;
  bool write_failed_ = false;
  mutable std::mutex messages_mutex_;  // the sampler's thread adds notes
  std::vector<std::string> messages_;
};

}  // namespace carbonmeter::vmexport
