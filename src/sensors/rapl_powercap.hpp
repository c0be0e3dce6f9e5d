// RAPL through the Linux powercap interface: $CARBONMETER_SYSFS_ROOT/class/powercap/intel-rapl:*
// and intel-rapl-mmio:*, zones identified by their `name` file.
#pragma once

#include "sensors/rapl_domains.hpp"
#include "sensors/sensor_status.hpp"

namespace carbonmeter {

ProbeOutcome probe_rapl_powercap(const RaplDomains& domains);

// The fix for a root-only energy_uj, shared with the MSR sensor's message.
std::string rapl_permission_fix();

}  // namespace carbonmeter
