// The run report: what `run --json` writes and `report --recover` rebuilds. Its shape is
// documented in docs/report.md; later features add keys, never rename them.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "carbonmeter/measurement.hpp"
#include "carbonmeter/result.hpp"
#include "core/sample.hpp"

namespace carbonmeter {

inline constexpr int kReportSchemaVersion = 1;

struct DeviceEnergy {
  std::string method;
  Component component = Component::cpu;
  std::string device;
  std::string domain;
  double energy_j = 0.0;  // whole machine
  std::string model;      // GPUs
  std::string uuid;       // GPUs
  // Energy attributed to the scope, for channels whose sensor knows the process share (GPUs);
  // negative when the component's share applies (CPU and RAM channels in process scope).
  double attributed_j = 0.0;
};

struct RunHeader {
  std::string run_id;
  std::string project_name;
  std::vector<std::string> command;
  double start_unix_s = 0.0;
  std::string scope;  // "process" or "machine"
  pid_t root_pid = 0;
  double interval_s = 1.0;
  std::string hostname;
  std::string cpu_model;
  PerComponent<MethodInfo> methods;
  std::vector<std::string> notes;
};

struct RunReport {
  RunHeader header;
  double duration_s = 0.0;
  EnergyJ energy_j;
  EnergyJ machine_energy_j;
  std::vector<DeviceEnergy> devices;
  std::vector<Sample> samples;
  std::size_t samples_per_point = 1;
  std::size_t sample_count = 0;
  std::optional<int> exit_code;
  bool complete = true;    // false: rebuilt from a journal whose run never ended
  bool recovered = false;  // true: rebuilt from a journal
};

nlohmann::json header_to_json(const RunHeader& header);
Result<RunHeader> header_from_json(const nlohmann::json& json);
nlohmann::json report_to_json(const RunReport& report);
Measurement report_measurement(const RunReport& report);

std::string format_iso8601_utc(double unix_s);
// JSON text that never throws on text that is not UTF-8 (command arguments, CPU names): invalid
// bytes become U+FFFD.
std::string dump_json(const nlohmann::json& json, int indent = -1);

}  // namespace carbonmeter
