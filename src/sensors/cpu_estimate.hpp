// The CPU estimate, used when no counter can be read: P = TDP × sockets × f(u) × visible share,
// with u the machine-wide utilisation from /proc/stat.
#pragma once

#include "core/proc_stat.hpp"
#include "sensors/sensor_status.hpp"

namespace carbonmeter {

ProbeOutcome probe_cpu_estimate(const CpuInfo& cpu);

}  // namespace carbonmeter
