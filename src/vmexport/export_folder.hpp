// One VM's folder of the export, shaped as the powercap tree the guest's RAPL sensor reads
// (docs/vm_export.md):
//   <folder>/intel-rapl:0/{name=package-0, max_energy_range_uj, energy_uj}              the VM's CPU
//   <folder>/intel-rapl:0/intel-rapl:0:0/{name=dram, max_energy_range_uj, energy_uj}   its RAM
//   <folder>/carbonmeter-host-export.json                         where the numbers come from
// Subzones sit inside their zone's folder as in /sys/devices/virtual/powercap/intel-rapl (the
// guest's sensor looks there when it reads a host export).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "carbonmeter/result.hpp"

namespace carbonmeter::vmexport {

inline constexpr const char* kCpuZone = "intel-rapl:0";
inline constexpr const char* kRamZone = "intel-rapl:0/intel-rapl:0:0";

// Replaces the file at once: written beside it under a temporary name, then renamed over it, so
// that a reader sees the old content or the new, never half of it.
Status write_file_atomically(const std::string& path, const std::string& content);

// A counter of cumulative µJ written as a powercap counter: it wraps after max_energy_range_uj
// (kHostExportRangeUj) as a real RAPL zone does, and never goes back otherwise.
class ZoneCounter {
 public:
  explicit ZoneCounter(std::uint64_t start_total_uj = 0) : start_uj_(start_total_uj) {}
  void add(double energy_j);
  // Since the folder was made (over every run of vm-export).
  std::uint64_t total_uj() const;
  // What energy_uj holds.
  std::uint64_t counter_uj() const;

 private:
  std::uint64_t start_uj_;
  double added_uj_ = 0.0;  // since this run started; rounded to whole µJ when written
};

// What a folder holds from an earlier run of vm-export.
struct PreviousExport {
  bool exists = false;  // the folder exists
  bool ours = false;    // empty, or holds a host export (the marker or a zone): it may be taken
  std::optional<pid_t> pid;
  std::uint64_t start_ticks = 0;
  std::string state;               // "running", "stopped", "" when no marker
  nlohmann::json marker;           // as read; null when none or unreadable
  std::uint64_t cpu_total_uj = 0;  // the counters to continue from
  std::uint64_t ram_total_uj = 0;
};
PreviousExport read_previous_export(const std::string& folder_dir);

// Creates the zone's folder and writes its name and range (once, when the folder is taken).
Status write_zone_identity(const std::string& zone_dir, const std::string& name);
Status write_zone_counter(const std::string& zone_dir, const ZoneCounter& counter);

}  // namespace carbonmeter::vmexport
