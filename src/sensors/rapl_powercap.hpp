// RAPL through the Linux powercap interface: $CARBONMETER_SYSFS_ROOT/class/powercap/intel-rapl:*
// and intel-rapl-mmio:*, zones identified by their `name` file.
//
// In a virtual machine whose host runs `carbonmeter vm-export` (docs/vm_export.md), the VM's folder
// of that export, mounted in the guest and named by CARBONMETER_SYSFS_ROOT, holds intel-rapl:* zones
// beside a marker file: they are read the same way, with method `host-export`.
#pragma once

#include <cstdint>

#include "sensors/rapl_domains.hpp"
#include "sensors/sensor_status.hpp"

namespace carbonmeter {

ProbeOutcome probe_rapl_powercap(const RaplDomains& domains);

// The fix for a root-only energy_uj, shared with the MSR sensor's message.
std::string rapl_permission_fix();

// The host export's format, shared by `carbonmeter vm-export` (which writes it) and this sensor
// (which reads it in the guest).
// The marker beside the zones of one VM's folder: JSON, with the host's methods (docs/vm_export.md).
inline constexpr const char* kHostExportMarkerFile = "carbonmeter-host-export.json";
inline constexpr const char* kHostExportFormat = "carbonmeter-host-export/1";
// The exported counters wrap like a real RAPL zone's (2^32 units of 61.03 µJ).
inline constexpr std::uint64_t kHostExportRangeUj = 262'143'328'850;
// An exported zone holds a VM's share of every socket of the host together: it may draw more than
// one socket's package, so its counter's plausibility bound is a whole host's.
inline constexpr double kHostExportMaxZonePowerW = 4000.0;

}  // namespace carbonmeter
