// Sharing the host's CPU and RAM energy among its VMs, one interval at a time (docs/vm_export.md).
//
// CPU: the rule of --scope process (docs/methodology.md). Each VM gets the host's CPU energy ×
// (the CPU time of its processes / the host's busy CPU time): idle power is shared among the work
// that ran, in proportion to CPU time, and what the host's own processes ran keeps the rest.
// RAM: × (the VM's resident memory / the host's memory in use), the VMs' shares together at most 1.
//
// Nothing is lost or counted twice: every joule goes to a VM, to the host, or waits (pending) for
// the next interval whose shares are known. Energy measured while the host showed no busy CPU time
// (or /proc/stat could not be read) waits for the next interval's CPU shares, and RAM energy while
// /proc/meminfo could not be read for the next memory shares. A VM's CPU time beyond the host's busy
// time (CPU time is counted in ticks that arrive in lumps) waits for the next intervals' busy time.
// With no VM at all, the energy is the host's at once: a VM that starts later gets none of it.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

namespace carbonmeter::vmexport {

struct VmUsage {
  std::uint64_t id = 0;         // the caller's, the same for a VM from interval to interval
  double cpu_s = 0.0;           // CPU time of the VM's processes in the interval
  std::uint64_t rss_bytes = 0;  // their resident memory at its end
};

struct HostInterval {
  double cpu_j = 0.0;  // the host's CPU energy in the interval
  double ram_j = 0.0;
  std::optional<double> busy_s;             // the host's busy CPU time in it; nullopt: unknown
  std::optional<std::uint64_t> used_bytes;  // the host's memory in use; nullopt: unknown
};

struct VmShare {
  double cpu_j = 0.0;
  double ram_j = 0.0;
  double cpu_share = 0.0;  // of the CPU energy shared out this interval (pending energy included)
  double ram_share = 0.0;
};

struct Split {
  std::vector<VmShare> vms;  // in the order of the usage given
  double host_cpu_j = 0.0;   // no VM's: the host's own work, and idle power when no VM ran
  double host_ram_j = 0.0;
  double pending_cpu_j = 0.0;  // waiting for the next shares, after this interval
  double pending_ram_j = 0.0;
};

class EnergySplitter {
 public:
  Split split(const HostInterval& host, const std::vector<VmUsage>& vms);
  // A VM that stopped: the CPU time it still had waiting is dropped (that energy stays the host's).
  void forget(std::uint64_t id) { backlog_s_.erase(id); }

 private:
  double pending_cpu_j_ = 0.0;
  double pending_ram_j_ = 0.0;
  double pending_busy_s_ = 0.0;
  std::unordered_map<std::uint64_t, double> backlog_s_;  // per VM: CPU time not yet matched
};

}  // namespace carbonmeter::vmexport
