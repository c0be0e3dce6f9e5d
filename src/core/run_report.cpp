#include "core/run_report.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <ctime>

#include "carbonmeter/version.hpp"

namespace carbonmeter {
namespace {

using nlohmann::json;

json per_component(const EnergyJ& energy, bool with_total) {
  json out = json::object();
  for (Component c : kComponents) out[std::string(component_name(c))] = energy[c];
  if (with_total) out["total"] = energy.total();
  return out;
}

json sample_to_json(const Sample& sample) {
  json power = json::object();
  for (Component c : kComponents)
    power[std::string(component_name(c))] = sample.dt_s > 0 ? sample.energy_j[c] / sample.dt_s : 0.0;
  power["total"] = sample.dt_s > 0 ? sample.energy_j.total() / sample.dt_s : 0.0;
  return {{"t_s", sample.t_s},
          {"dt_s", sample.dt_s},
          {"energy_j", per_component(sample.energy_j, true)},
          {"power_w", power},
          {"machine_energy_j", per_component(sample.machine_energy_j, true)},
          {"cpu_share", sample.cpu_share},
          {"ram_share", sample.ram_share}};
}

}  // namespace

std::string_view component_name(Component component) {
  switch (component) {
    case Component::cpu:
      return "cpu";
    case Component::ram:
      return "ram";
    case Component::gpu:
      return "gpu";
  }
  return "?";
}

std::string format_iso8601_utc(double unix_s) {
  if (!std::isfinite(unix_s) || unix_s < 0 || unix_s > 253402300799.0) return "invalid-time";
  std::time_t seconds = static_cast<std::time_t>(std::floor(unix_s));
  int millis = static_cast<int>(std::lround((unix_s - static_cast<double>(seconds)) * 1000));
  if (millis == 1000) {
    ++seconds;
    millis = 0;
  }
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900, utc.tm_mon + 1,
                     utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
}

std::string dump_json(const json& value, int indent) {
  return value.dump(indent, ' ', false, json::error_handler_t::replace);
}

json header_to_json(const RunHeader& header) {
  json methods = json::object();
  for (Component c : kComponents) {
    const MethodInfo& m = header.methods[c];
    methods[std::string(component_name(c))] = {
        {"method", m.method}, {"kind", m.kind}, {"relative_uncertainty", m.relative_uncertainty}};
  }
  return {{"run_id", header.run_id},
          {"project_name", header.project_name},
          {"command", header.command},
          {"start_unix_s", header.start_unix_s},
          {"scope", header.scope},
          {"root_pid", header.root_pid},
          {"interval_s", header.interval_s},
          {"hostname", header.hostname},
          {"cpu_model", header.cpu_model},
          {"methods", methods},
          {"notes", header.notes}};
}

Result<RunHeader> header_from_json(const json& in) {
  try {
    RunHeader header;
    header.run_id = in.at("run_id").get<std::string>();
    header.project_name = in.at("project_name").get<std::string>();
    header.command = in.at("command").get<std::vector<std::string>>();
    header.start_unix_s = in.at("start_unix_s").get<double>();
    header.scope = in.at("scope").get<std::string>();
    const auto root_pid = in.at("root_pid").get<std::int64_t>();
    header.interval_s = in.at("interval_s").get<double>();
    if (!std::isfinite(header.start_unix_s) || header.start_unix_s < 0 || header.start_unix_s > 1e11 ||
        root_pid < 0 || root_pid > 0x7fffffff || !std::isfinite(header.interval_s) ||
        header.interval_s <= 0 || header.interval_s > 3600)
      return Error{"journal header has out-of-range values (start time, pid or interval)"};
    header.root_pid = static_cast<pid_t>(root_pid);
    header.hostname = in.value("hostname", "");
    header.cpu_model = in.value("cpu_model", "");
    for (Component c : kComponents) {
      const json& m = in.at("methods").at(std::string(component_name(c)));
      header.methods[c] = {m.at("method").get<std::string>(), m.at("kind").get<std::string>(),
                           m.at("relative_uncertainty").get<double>()};
    }
    header.notes = in.value("notes", std::vector<std::string>{});
    return header;
  } catch (const json::exception& e) {
    return Error{std::string("journal header is incomplete: ") + e.what()};
  }
}

Measurement report_measurement(const RunReport& report) {
  Measurement m;
  m.name = "run";
  m.start_unix_s = report.header.start_unix_s;
  m.duration_s = report.duration_s;
  m.energy_j = report.energy_j;
  m.machine_energy_j = report.machine_energy_j;
  m.method = report.header.methods;
  return m;
}

json report_to_json(const RunReport& report) {
  const Measurement m = report_measurement(report);
  json power = json::object(), method = json::object(), uncertainty = json::object();
  for (Component c : kComponents) {
    const std::string name(component_name(c));
    power[name] = m.average_power_w(c);
    method[name] = report.header.methods[c].method;
    uncertainty[name] = {{"relative", report.header.methods[c].relative_uncertainty},
                         {"energy_j", report.energy_j[c] * report.header.methods[c].relative_uncertainty},
                         {"kind", report.header.methods[c].kind}};
  }
  power["total"] = m.average_power_w();
  uncertainty["total"] = {
      {"energy_j", m.total_uncertainty_j()},
      {"relative", m.energy_j.total() > 0 ? m.total_uncertainty_j() / m.energy_j.total() : 0.0}};
  json devices = json::array();
  for (const DeviceEnergy& d : report.devices)
    devices.push_back({{"method", d.method},
                       {"component", component_name(d.component)},
                       {"device", d.device},
                       {"domain", d.domain},
                       {"energy_j", d.energy_j},
                       {"model", d.model},
                       {"uuid", d.uuid}});
  json gpus = json::array();
  for (const DeviceEnergy& d : report.devices) {
    if (d.component != Component::gpu) continue;
    const double attributed_j = d.attributed_j >= 0 ? d.attributed_j : d.energy_j;
    int index = -1;
    if (d.device.rfind("gpu-", 0) == 0) index = std::atoi(d.device.c_str() + 4);
    gpus.push_back({{"index", index},
                    {"uuid", d.uuid},
                    {"name", d.model},
                    {"energy_j", attributed_j},
                    {"machine_energy_j", d.energy_j},
                    {"avg_power_w", report.duration_s > 0 ? attributed_j / report.duration_s : 0.0},
                    {"method", d.method},
                    {"share", d.energy_j > 0 ? attributed_j / d.energy_j
                                             : (report.header.scope == "machine" ? 1.0 : 0.0)}});
  }
  json samples = json::array();
  for (const Sample& s : report.samples) samples.push_back(sample_to_json(s));

  json out = {{"schema_version", kReportSchemaVersion},
              {"carbonmeter_version", kVersion},
              {"run_id", report.header.run_id},
              {"project_name", report.header.project_name},
              {"command", report.header.command},
              {"exit_code", report.exit_code ? json(*report.exit_code) : json(nullptr)},
              {"start_time", format_iso8601_utc(report.header.start_unix_s)},
              {"end_time", format_iso8601_utc(report.header.start_unix_s + report.duration_s)},
              {"duration_s", report.duration_s},
              {"scope", report.header.scope},
              {"root_pid", report.header.root_pid},
              {"interval_s", report.header.interval_s},
              {"host", {{"hostname", report.header.hostname}, {"cpu_model", report.header.cpu_model}}},
              {"energy_j", per_component(report.energy_j, true)},
              {"energy_kwh", per_component(report.energy_j, true)},
              {"machine_energy_j", per_component(report.machine_energy_j, true)},
              {"power_w", power},
              {"method", method},
              {"uncertainty", uncertainty},
              {"devices", devices},
              {"gpus", gpus},
              {"samples", samples},
              {"samples_per_point", report.samples_per_point},
              {"sample_count", report.sample_count},
              {"complete", report.complete},
              {"recovered", report.recovered},
              {"notes", report.header.notes}};
  for (auto& [key, value] : out["energy_kwh"].items()) value = value.get<double>() / kJoulesPerKwh;
  return out;
}

}  // namespace carbonmeter
