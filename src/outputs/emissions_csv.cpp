#include "outputs/emissions_csv.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "carbonmeter/version.hpp"
#include "core/proc_stat.hpp"
#include "core/text_file.hpp"

namespace carbonmeter {
namespace {

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string number(double value) { return fmt::format("{:.10g}", value); }

std::string local_timestamp(double unix_s) {
  std::time_t seconds = static_cast<std::time_t>(unix_s);
  std::tm local{};
  localtime_r(&seconds, &local);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &local);
  return buffer;
}

std::string os_string() {
  utsname name{};
  if (::uname(&name) != 0) return "Linux";
  return fmt::format("{}-{}-{}", name.sysname, name.release, name.machine);
}

std::string gpu_model(const RunReport& report, int& count) {
  std::vector<std::pair<std::string, int>> models;
  count = 0;
  for (const DeviceEnergy& d : report.devices) {
    if (d.component != Component::gpu) continue;
    ++count;
    auto it = std::find_if(models.begin(), models.end(), [&](const auto& m) { return m.first == d.model; });
    if (it == models.end())
      models.emplace_back(d.model, 1);
    else
      ++it->second;
  }
  std::string out;
  for (const auto& [model, n] : models) out += fmt::format("{}{} x {}", out.empty() ? "" : ", ", n, model);
  return out;
}

std::string header_line(const std::vector<std::string>& columns) {
  std::string out;
  for (const std::string& c : columns) out += (out.empty() ? "" : ",") + c;
  return out;
}

}  // namespace

const std::vector<std::string>& codecarbon_columns() {
  static const std::vector<std::string> columns{"timestamp",
                                                "project_name",
                                                "run_id",
                                                "experiment_id",
                                                "duration",
                                                "emissions",
                                                "emissions_rate",
                                                "cpu_power",
                                                "gpu_power",
                                                "ram_power",
                                                "cpu_energy",
                                                "gpu_energy",
                                                "ram_energy",
                                                "energy_consumed",
                                                "water_consumed",
                                                "country_name",
                                                "country_iso_code",
                                                "region",
                                                "cloud_provider",
                                                "cloud_region",
                                                "os",
                                                "python_version",
                                                "codecarbon_version",
                                                "cpu_count",
                                                "cpu_model",
                                                "gpu_count",
                                                "gpu_model",
                                                "longitude",
                                                "latitude",
                                                "ram_total_size",
                                                "tracking_mode",
                                                "cpu_utilization_percent",
                                                "gpu_utilization_percent",
                                                "ram_utilization_percent",
                                                "ram_used_gb",
                                                "on_cloud",
                                                "pue",
                                                "wue"};
  return columns;
}

const std::vector<std::string>& emissions_csv_columns() {
  static const std::vector<std::string> columns = [] {
    std::vector<std::string> out = codecarbon_columns();
    for (const char* own :
         {"carbonmeter_version", "cpu_energy_method", "gpu_energy_method", "ram_energy_method",
          "energy_relative_uncertainty", "emissions_low", "emissions_high", "intensity_g_per_kwh",
          "intensity_source", "intensity_how", "location_guessed", "machine_energy"})
      out.push_back(own);
    return out;
  }();
  return columns;
}

Result<CsvAppendOutcome> append_emissions_csv(const std::string& dir, const RunReport& report,
                                              const CarbonAccount& account,
                                              const ResolvedLocation& location) {
  CsvAppendOutcome outcome;
  outcome.path = dir + "/emissions.csv";
  const std::string ours = header_line(emissions_csv_columns());
  const std::string codecarbon = header_line(codecarbon_columns());
  bool write_header = true;
  bool torn_last_line = false;
  std::error_code ec;
  if (std::filesystem::exists(outcome.path, ec)) {
    auto text = read_text_file(outcome.path);
    if (!text) return Error{"emissions.csv: " + text.error().message};
    std::string first = text.value().substr(0, text.value().find('\n'));
    if (first.rfind("\xEF\xBB\xBF", 0) == 0) first.erase(0, 3);
    if (!first.empty() && first.back() == '\r') first.pop_back();
    if (first == ours) {
      write_header = false;
    } else if (first == codecarbon) {
      write_header = false;
      outcome.codecarbon_layout = true;
    } else if (!text.value().empty()) {
      outcome.backup = fmt::format("{}.backup-{}", outcome.path, report.header.run_id);
      std::filesystem::rename(outcome.path, outcome.backup, ec);
      if (ec) return Error{"emissions.csv has another header and cannot be moved aside: " + ec.message()};
    }
    // A last line without its newline (a writer that died mid-line): ours starts on a line of its own.
    torn_last_line = !write_header && !text.value().empty() && text.value().back() != '\n';
  }

  const double duration = report.duration_s;
  auto power = [&](Component c) { return duration > 0 ? report.energy_j[c] / duration : 0.0; };
  auto kwh = [&](Component c) { return report.energy_j[c] / kJoulesPerKwh; };
  auto cpu = read_cpuinfo();
  MachineStatReader machine;
  auto memory = machine.memory();
  int gpu_count = 0;
  const std::string gpus = gpu_model(report, gpu_count);
  const double energy_relative = account.emissions_g > 0 ? account.relative_uncertainty : 0.0;
  std::vector<std::string> row{
      local_timestamp(report.header.start_unix_s + duration),
      report.header.project_name,
      report.header.run_id,
      "",
      number(duration),
      number(account.emissions_g / 1000.0),
      number(duration > 0 ? account.emissions_g / 1000.0 / duration : 0.0),
      number(power(Component::cpu)),
      number(power(Component::gpu)),
      number(power(Component::ram)),
      number(kwh(Component::cpu)),
      number(kwh(Component::gpu)),
      number(kwh(Component::ram)),
      number(account.energy_kwh),
      number(account.water_l),
      location.country_name,
      location.country_iso3,
      location.region,
      location.cloud_provider,
      location.cloud_region,
      os_string(),
      "",
      "",
      cpu ? std::to_string(cpu.value().logical_cpus) : "",
      cpu ? cpu.value().model_name : "",
      std::to_string(gpu_count),
      gpus,
      "",
      "",
      memory ? number(static_cast<double>(memory.value().total_bytes) / (1024.0 * 1024 * 1024)) : "",
      report.header.scope,
      "",
      "",
      "",
      "",
      location.cloud_provider.empty() ? "N" : "Y",
      number(location.pue),
      number(location.wue_l_per_kwh)};
  if (!outcome.codecarbon_layout) {
    for (const std::string& value : std::vector<std::string>{
             std::string(kVersion), report.header.methods[Component::cpu].method,
             report.header.methods[Component::gpu].method, report.header.methods[Component::ram].method,
             number(energy_relative), number(account.low_g / 1000.0), number(account.high_g / 1000.0),
             number(account.intensity_g_per_kwh),
             location.constant ? location.constant->source : (location.series ? location.series->name() : ""),
             location.how, std::string(location.guessed ? "Y" : "N"),
             number(report.machine_energy_j.total() / kJoulesPerKwh)})
      row.push_back(value);
  }
  std::string line = torn_last_line ? "\n" : "";
  if (write_header) line = (outcome.codecarbon_layout ? codecarbon : ours) + "\n";
  std::string cells;
  for (const std::string& value : row) cells += (cells.empty() ? "" : ",") + csv_field(value);
  line += cells + "\n";
  // One write with O_APPEND: the row lands whole or not at all, after whatever is there.
  const int fd = ::open(outcome.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    return Error{"cannot write " + outcome.path + ": " + std::strerror(errno) + " (choose --output-dir)"};
  const ssize_t written = ::write(fd, line.data(), line.size());
  const int saved = errno;
  ::close(fd);
  if (written != static_cast<ssize_t>(line.size()))
    return Error{"cannot append to " + outcome.path + ": " + std::strerror(written < 0 ? saved : ENOSPC)};
  return outcome;
}

}  // namespace carbonmeter
