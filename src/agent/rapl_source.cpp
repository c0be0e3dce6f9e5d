#include "agent/rapl_source.hpp"

#include "core/proc_stat.hpp"
#include "sensors/rapl_msr.hpp"
#include "sensors/rapl_powercap.hpp"

namespace carbonmeter::agent {
namespace {

std::string reason(const SensorStatus& status) {
  return status.method + ": " + status.detail + (status.fix.empty() ? "" : " (" + status.fix + ")");
}

RaplSource source_from(ProbeOutcome outcome) {
  RaplSource source;
  source.sensor = std::move(outcome.sensor);
  source.detail = outcome.status.detail;
  source.notes = std::move(outcome.notes);
  if (!outcome.status.missing.empty())
    source.notes.push_back(outcome.status.method + " cannot read: " + outcome.status.missing);
  return source;
}

}  // namespace

Result<RaplSource> probe_rapl_source() {
  // Every domain: each client picks the ones its --rapl-domains asks for.
  const RaplDomains all{true, true, true, true, true};
  ProbeOutcome powercap = probe_rapl_powercap(all);
  if (powercap.status.found) return source_from(std::move(powercap));
  auto cpuinfo = read_cpuinfo();
  ProbeOutcome msr =
      probe_rapl_msr(RaplDomains{true, true, false, false, false}, cpuinfo ? cpuinfo.value() : CpuInfo{});
  if (msr.status.found) {
    RaplSource source = source_from(std::move(msr));
    source.notes.insert(source.notes.begin(), "rapl-powercap unusable (" + reason(powercap.status) +
                                                  "); serving RAPL read through the MSRs");
    return source;
  }
  return Error{"no RAPL counter is readable here: " + reason(powercap.status) + "; " + reason(msr.status)};
}

}  // namespace carbonmeter::agent
