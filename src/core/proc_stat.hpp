// Machine-wide figures from procfs: CPU time (/proc/stat), memory (/proc/meminfo), CPU model
// (/proc/cpuinfo). All read under procfs_root().
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "carbonmeter/result.hpp"
#include "core/text_file.hpp"

namespace carbonmeter {

struct CpuTime {
  double busy_s = 0.0;  // user + nice + system + irq + softirq (guest is inside user)
  double idle_s = 0.0;  // idle + iowait
  double total_s() const { return busy_s + idle_s; }
};

struct MachineCpuTime : CpuTime {
  std::vector<CpuTime> per_cpu;  // filled only when asked for
};

// How unevenly the load is spread over the CPUs in an interval: Var(u_i) / (u (1 - u)) over the
// per-CPU utilisations u_i with mean u. 1: each CPU either fully busy or idle; 0: all alike.
double load_concentration(const std::vector<CpuTime>& per_cpu_delta);

struct MemoryInfo {
  std::uint64_t total_bytes = 0;
  std::uint64_t available_bytes = 0;
  std::uint64_t used_bytes() const {
    return total_bytes > available_bytes ? total_bytes - available_bytes : 0;
  }
};

struct CpuInfo {
  std::string model_name;  // "Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz"
  std::string vendor_id;   // "GenuineIntel", "AuthenticAMD"
  int family = 0;
  int model = 0;
  int logical_cpus = 0;
  int sockets = 0;          // distinct "physical id" values, at least 1
  bool hypervisor = false;  // the "hypervisor" flag: a virtual machine
};

Result<MachineCpuTime> parse_proc_stat(std::string_view text, bool per_cpu = false);
Result<MemoryInfo> parse_meminfo(std::string_view text);
CpuInfo parse_cpuinfo(std::string_view text);

// Keeps /proc/stat and /proc/meminfo open for cheap periodic reads.
class MachineStatReader {
 public:
  MachineStatReader();
  Result<MachineCpuTime> cpu_time(bool per_cpu = false);
  Result<MemoryInfo> memory();

 private:
  RereadableFile stat_;
  RereadableFile meminfo_;
};

Result<CpuInfo> read_cpuinfo();
double clock_ticks_per_second();

}  // namespace carbonmeter
