#include "sensors/registry.hpp"

#include <algorithm>
#include <filesystem>

#include "sensors/agent_sensor.hpp"
#include "sensors/cpu_estimate.hpp"
#include "sensors/gpu_selection.hpp"
#include "sensors/nvml.hpp"
#include "sensors/ram_estimate.hpp"
#include "sensors/rapl_msr.hpp"
#include "sensors/rapl_powercap.hpp"
#include "sensors/rocm_smi.hpp"

namespace carbonmeter {
namespace {

bool covers(const EnergySensor& sensor, Component component) {
  const auto& channels = sensor.channels();
  return std::any_of(channels.begin(), channels.end(),
                     [&](const Channel& c) { return c.component == component; });
}

// Adopts a probed sensor for the components it covers that nothing else covers yet.
void adopt(SensorSet& set, ProbeOutcome outcome, const std::vector<Component>& wanted) {
  set.statuses.push_back(outcome.status);
  if (!outcome.sensor) return;
  if (!wanted.empty())
    for (const std::string& note : outcome.notes) set.notes.push_back(note);
  if (!outcome.status.missing.empty() && !wanted.empty())
    set.notes.push_back(outcome.status.method +
                        " cannot read everything, so its figures leave out: " + outcome.status.missing +
                        (outcome.status.fix.empty() ? "" : " — " + outcome.status.fix));
  ActiveSensor active;
  bool used = false;
  for (Component component : wanted) {
    if (set.methods[component].method != "none" || !covers(*outcome.sensor, component)) continue;
    set.methods[component] = {outcome.sensor->method(), outcome.sensor->kind(),
                              outcome.sensor->relative_uncertainty(component)};
    active.counted[component] = true;
    used = true;
  }
  if (used) {
    active.sensor = std::move(outcome.sensor);
    set.sensors.push_back(std::move(active));
  }
}

// Why a run reads RAPL through the agent, in a few words (`hardware` lists the details).
std::string why_the_agent(bool powercap_found, const std::string& powercap_problem) {
  if (powercap_found) return "";
  const bool denied = powercap_problem.find("Permission denied") != std::string::npos;
  return std::string(": this user cannot read the counters itself (") +
         (denied ? "permission denied" : "rapl-powercap and rapl-msr unusable") +
         "; `carbonmeter hardware` says why)";
}

}  // namespace

Result<SensorSet> probe_sensors(const SensorOptions& options) {
  auto domains = parse_rapl_domains(options.rapl_domains);
  if (!domains) return domains.error();
  SensorSet set;
  auto cpuinfo = read_cpuinfo();
  const CpuInfo cpu = cpuinfo ? cpuinfo.value() : CpuInfo{};

  ProbeOutcome powercap = probe_rapl_powercap(domains.value());
  const bool powercap_found = powercap.status.found;
  const std::string powercap_problem =
      powercap.status.detail + (powercap.status.fix.empty() ? "" : " — " + powercap.status.fix);
  adopt(set, std::move(powercap), {Component::cpu, Component::ram});

  if (options.probe_all || !powercap_found || set.methods[Component::ram].method == "none") {
    ProbeOutcome msr = probe_rapl_msr(domains.value(), cpu);
    if (!powercap_found && msr.status.found)
      set.notes.push_back("rapl-powercap unusable (" + powercap_problem +
                          "); reading RAPL through MSRs instead");
    adopt(set, std::move(msr), {Component::cpu, Component::ram});
  }

  // The agent (docs/agent.md): a privileged daemon serving the counters that this user cannot read.
  std::string agent_problem;
  if (options.probe_all || set.methods[Component::cpu].method == "none" ||
      set.methods[Component::ram].method == "none") {
    ProbeOutcome agent = probe_rapl_agent(domains.value());
    std::error_code ec;
    const bool socket_present =
        std::filesystem::is_socket(std::filesystem::symlink_status(agent_socket_path(), ec));
    if (!agent.status.found && socket_present && set.methods[Component::cpu].method == "none")
      agent_problem =
          "the carbonmeter agent cannot be used: " + agent.status.detail + " — " + agent.status.fix;
    const std::string agent_detail = agent.status.detail;
    adopt(set, std::move(agent), {Component::cpu, Component::ram});
    std::string used_for;
    for (Component component : {Component::cpu, Component::ram})
      if (set.methods[component].method == "rapl-agent")
        used_for += (used_for.empty() ? "" : " and ") + std::string(component_name(component));
    if (!used_for.empty())
      set.notes.push_back("reading RAPL for " + used_for + " through the carbonmeter " + agent_detail +
                          why_the_agent(powercap_found, powercap_problem));
  }

  if (set.methods[Component::cpu].method == "none") {
    if (!agent_problem.empty()) set.notes.push_back(agent_problem);
    adopt(set, probe_cpu_estimate(cpu), {Component::cpu});
    const SensorStatus& estimate = set.statuses.back();
    if (set.methods[Component::cpu].method == "cpu-estimate")
      set.notes.push_back("no CPU energy counter readable (" + powercap_problem +
                          "): CPU energy is an ESTIMATE from TDP and utilisation");
    else
      set.notes.push_back("CPU energy is NOT measured: no counter is readable (" + powercap_problem +
                          ") and the estimate cannot run (" + estimate.detail + " — " + estimate.fix + ")");
  } else if (options.probe_all) {
    adopt(set, probe_cpu_estimate(cpu), {});
  }
  if (domains.value().psys && set.methods[Component::cpu].method != "cpu-estimate") {
    // psys covers the whole platform, memory included: RAM is inside the cpu figure.
    set.methods[Component::ram] = {"included-in-psys", "none", 0.0};
  }
  if (set.methods[Component::ram].method == "none" || options.probe_all) {
    adopt(set, probe_ram_estimate(), {Component::ram});
  }

  const GpuSelection gpus = select_gpus(options.gpu_ids);
  adopt(set, probe_nvml(gpus), {Component::gpu});
  if (set.methods[Component::gpu].method == "none" || options.probe_all)
    adopt(set, probe_rocm_smi(gpus), {Component::gpu});
  if (set.methods[Component::gpu].method == "none") {
    const SensorStatus& nvml = set.statuses[set.statuses.size() - 2];
    const SensorStatus& rocm = set.statuses.back();
    set.notes.push_back("GPU energy: none (NVML: " + nvml.detail + "; ROCm SMI: " + rocm.detail + ")");
  }
  return set;
}

}  // namespace carbonmeter
