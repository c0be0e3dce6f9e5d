// RAPL through the model-specific registers ($CARBONMETER_DEV_ROOT/cpu/N/msr), used when powercap
// is missing or unreadable. One CPU per socket; 32-bit counters extended to 64-bit.
#pragma once

#include "core/proc_stat.hpp"
#include "sensors/rapl_domains.hpp"
#include "sensors/sensor_status.hpp"

namespace carbonmeter {

namespace msr {
inline constexpr std::uint32_t kIntelPowerUnit = 0x606;
inline constexpr std::uint32_t kIntelPackageEnergy = 0x611;
inline constexpr std::uint32_t kIntelDramEnergy = 0x619;
inline constexpr std::uint32_t kIntelPsysEnergy = 0x64D;
inline constexpr std::uint32_t kAmdPowerUnit = 0xC0010299;
inline constexpr std::uint32_t kAmdPackageEnergy = 0xC001029B;
}  // namespace msr

// Intel server parts count DRAM energy in fixed 15.3 µJ units whatever the unit register says.
bool intel_dram_uses_fixed_unit(int family, int model);

ProbeOutcome probe_rapl_msr(const RaplDomains& domains, const CpuInfo& cpu);

}  // namespace carbonmeter
