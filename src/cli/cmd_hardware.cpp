// carbonmeter hardware: every sensor, found or not, its method, and why not / how to fix.
#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "core/container.hpp"
#include "core/proc_stat.hpp"
#include "core/run_report.hpp"
#include "sensors/registry.hpp"

namespace carbonmeter::cli {
namespace {

int hardware(bool json_output, const std::string& rapl_domains, const std::string& gpu_ids) {
  auto sensors = probe_sensors({rapl_domains, true, gpu_ids});
  if (!sensors) throw UsageError(sensors.error().message);
  SensorSet& set = sensors.value();
  auto cpu = read_cpuinfo();
  const ContainerInfo container = detect_container();
  if (std::string note = container_note(container, set.methods[Component::cpu]); !note.empty())
    set.notes.push_back(std::move(note));
  if (json_output) {
    nlohmann::json out;
    out["cpu"] = cpu ? nlohmann::json{{"model", cpu.value().model_name},
                                      {"vendor", cpu.value().vendor_id},
                                      {"logical_cpus", cpu.value().logical_cpus},
                                      {"sockets", cpu.value().sockets}}
                     : nlohmann::json{{"error", cpu.error().message}};
    out["sensors"] = nlohmann::json::array();
    for (const SensorStatus& s : set.statuses)
      out["sensors"].push_back({{"method", s.method},
                                {"components", s.components},
                                {"found", s.found},
                                {"detail", s.detail},
                                {"fix", s.fix}});
    out["selected"] = nlohmann::json::object();
    for (Component c : kComponents)
      out["selected"][std::string(component_name(c))] = {
          {"method", set.methods[c].method},
          {"kind", set.methods[c].kind},
          {"relative_uncertainty", set.methods[c].relative_uncertainty}};
    out["container"] = container.inside ? nlohmann::json{{"runtime", container.runtime},
                                                         {"id", container.container_id},
                                                         {"evidence", container.evidence}}
                                        : nlohmann::json(nullptr);
    out["notes"] = set.notes;
    std::puts(dump_json(out, 2).c_str());
    return 0;
  }
  if (cpu)
    std::printf("CPU: %s (%d logical CPUs, %d socket%s)\n\n", cpu.value().model_name.c_str(),
                cpu.value().logical_cpus, cpu.value().sockets, cpu.value().sockets == 1 ? "" : "s");
  for (const SensorStatus& s : set.statuses) {
    std::printf("%-14s %-9s %-10s %s\n", s.method.c_str(), s.found ? "found" : "not found",
                s.components.c_str(), s.detail.c_str());
    if (!s.fix.empty()) std::printf("%-14s %-9s %-10s fix: %s\n", "", "", "", s.fix.c_str());
  }
  std::printf("\nUsed:\n");
  for (Component c : kComponents)
    std::printf("  %-4s %s (%s%s)\n", std::string(component_name(c)).c_str(), set.methods[c].method.c_str(),
                set.methods[c].kind.c_str(),
                set.methods[c].relative_uncertainty > 0
                    ? fmt::format(", ±{:.0f} %", set.methods[c].relative_uncertainty * 100).c_str()
                    : "");
  for (const std::string& note : set.notes) std::printf("note: %s\n", note.c_str());
  return 0;
}

}  // namespace

void add_hardware_command(CLI::App& app, int& exit_code) {
  auto json_output = std::make_shared<bool>(false);
  auto rapl_domains = std::make_shared<std::string>();
  auto gpu_ids = std::make_shared<std::string>();
  CLI::App* cmd =
      app.add_subcommand("hardware", "List every sensor, found or not, and how to fix the missing ones");
  cmd->add_flag("--json", *json_output, "Print JSON");
  cmd->add_option("--rapl-domains", *rapl_domains,
                  "RAPL domains: package,dram (default), psys, or core,uncore");
  cmd->add_option("--gpu-ids", *gpu_ids, "GPUs to look at: indices or UUIDs (default: all)");
  cmd->callback([json_output, rapl_domains, gpu_ids, &exit_code] {
    exit_code = hardware(*json_output, *rapl_domains, *gpu_ids);
  });
}

}  // namespace carbonmeter::cli
