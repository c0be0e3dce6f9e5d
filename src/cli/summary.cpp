#include "cli/summary.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace carbonmeter {
namespace {

std::string quote_command(const std::vector<std::string>& command) {
  std::string out;
  for (const std::string& arg : command) {
    bool plain = !arg.empty() && arg.find_first_of(" \t\"'\\$`") == std::string::npos;
    out += (out.empty() ? "" : " ") + (plain ? arg : "'" + arg + "'");
  }
  return out;
}

// " — 2 × NVIDIA H100 80GB HBM3" (models counted, in order of first appearance).
std::string gpu_models(const RunReport& report) {
  std::vector<std::pair<std::string, int>> models;
  for (const DeviceEnergy& device : report.devices) {
    if (device.component != Component::gpu) continue;
    auto it =
        std::find_if(models.begin(), models.end(), [&](const auto& m) { return m.first == device.model; });
    if (it == models.end())
      models.emplace_back(device.model, 1);
    else
      ++it->second;
  }
  std::string out;
  for (const auto& [model, count] : models)
    out += fmt::format("{}{} × {}", out.empty() ? " — " : ", ", count, model);
  return out;
}

}  // namespace

std::string format_energy_j(double energy_j) {
  if (energy_j >= 1e6) return fmt::format("{:.3f} MJ", energy_j / 1e6);
  if (energy_j >= 1e3) return fmt::format("{:.3f} kJ", energy_j / 1e3);
  return fmt::format("{:.2f} J", energy_j);
}

std::string format_summary(const RunReport& report) {
  const Measurement m = report_measurement(report);
  std::string out;
  std::string what = report.header.command.empty()
                         ? std::string("measurement")
                         : fmt::format("`{}`", quote_command(report.header.command));
  std::string ending = report.exit_code ? fmt::format("exited {}", *report.exit_code)
                                        : (report.complete ? "ended" : "did not end normally");
  out += fmt::format("carbonmeter: {} {} after {:.2f} s\n", what, ending, report.duration_s);
  if (report.header.scope == "process")
    out += fmt::format(
        "  scope   process tree of pid {} (CPU energy by CPU-time share, RAM by resident-memory share)\n",
        report.header.root_pid);
  else if (report.header.scope == "cgroup")
    out += fmt::format("  scope   cgroup {} (CPU energy by CPU-time share, RAM by memory share)\n",
                       report.header.cgroup);
  else
    out += "  scope   whole machine\n";
  if (const JobInfo& job = report.header.job; job.id) {
    std::string line = fmt::format("  job     {} ({})", *job.id, job.source);
    if (job.slurm && !job.slurm->step.empty()) line += ", step " + job.slurm->step;
    if (job.rank && job.world_size) line += fmt::format(", rank {} of {}", *job.rank, *job.world_size);
    line += " on " + (job.node.empty() ? report.header.hostname : job.node);
    if (job.slurm && job.slurm->cpu_count > 0)
      line += fmt::format("; allocated here: {} CPU{}{} (from {})", job.slurm->cpu_count,
                          job.slurm->cpu_count == 1 ? "" : "s",
                          job.slurm->cpus.empty() ? "" : " " + job.slurm->cpus, job.slurm->cpus_source);
    if (job.slurm && !job.slurm->gpus.empty()) line += ", GPUs " + job.slurm->gpus;
    out += line + "\n";
  }
  for (Component c : kComponents) {
    const MethodInfo& method = report.header.methods[c];
    const double energy = report.energy_j[c];
    if (method.method == "none" || method.method == "included-in-psys") {
      out += fmt::format(
          "  {:<6}  {:>12}  {}\n", component_name(c), "-",
          method.method == "none" ? "not measured (no sensor)" : "included in the cpu figure (psys)");
      continue;
    }
    out += fmt::format("  {:<6}  {:>12}  {:>12.6g} kWh  {:>8.2f} W avg  {} ({}, ±{:.0f} %){}\n",
                       component_name(c), format_energy_j(energy), energy / kJoulesPerKwh,
                       m.average_power_w(c), method.method, method.kind, method.relative_uncertainty * 100,
                       c == Component::gpu ? gpu_models(report) : "");
  }
  const double total = report.energy_j.total();
  out += fmt::format("  {:<6}  {:>12}  {:>12.6g} kWh  {:>8.2f} W avg  ±{}\n", "total", format_energy_j(total),
                     total / kJoulesPerKwh, m.average_power_w(), format_energy_j(m.total_uncertainty_j()));
  if (report.header.scope != "machine")
    out += fmt::format("  machine {:>12} in all over the same time\n",
                       format_energy_j(report.machine_energy_j.total()));
  for (const std::string& note : report.header.notes) out += "  note: " + note + "\n";
  return out;
}

std::string format_emissions(const CarbonAccount& account, const ResolvedLocation& location) {
  auto grams = [](double g) {
    return g >= 1000 ? fmt::format("{:.3f} kg", g / 1000) : fmt::format("{:.3g} g", g);
  };
  std::string source;
  if (location.constant)
    source = fmt::format("{} g/kWh, {} {}{}", location.constant->g_per_kwh, location.constant->source,
                         location.constant->kind,
                         location.constant->year ? fmt::format(" {}", location.constant->year) : "");
  else if (location.series)
    source = fmt::format("series {} ({}), {:.0f}–{:.0f} g/kWh over the run", location.series->name(),
                         location.series->column(), account.intensity_min_g_per_kwh,
                         account.intensity_max_g_per_kwh);
  std::string out =
      fmt::format("  CO2e    {:>12}  range {}–{} (±{:.0f} %)  at {:.1f} g/kWh × PUE {:.2f}\n",
                  grams(account.emissions_g), grams(account.low_g), grams(account.high_g),
                  account.relative_uncertainty * 100, account.intensity_g_per_kwh, location.pue);
  out += fmt::format("  where   {}{} ({})\n", location.how, location.guessed ? " — a GUESS" : "", source);
  if (location.wue_l_per_kwh > 0)
    out += fmt::format("  water   {:.3f} L ({} L/kWh, {})\n", account.water_l, location.wue_l_per_kwh,
                       location.wue_source);
  std::string equivalents;
  for (std::size_t i = 0; i < account.equivalents.size() && i < 3; ++i)
    equivalents += fmt::format("{}{}", i ? ", " : "", equivalent_phrase(account.equivalents[i]));
  if (!equivalents.empty()) out += "  about   " + equivalents + "\n";
  for (const std::string& note : location.notes) out += "  note: " + note + "\n";
  return out;
}

Status write_report_json(const RunReport& report, const std::string& path) {
  return write_json_file(report_to_json(report), path);
}

namespace {

Status write_all_to(int fd, const std::string& text, const std::string& path) {
  for (std::size_t done = 0; done < text.size();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error{"cannot write " + path + ": " + std::strerror(n < 0 ? errno : ENOSPC)};
    done += static_cast<std::size_t>(n);
  }
  return Ok{};
}

// The process's umask, read without changing it (umask(2) would, for a moment, for every thread:
// the uploader may be creating its spool meanwhile).
mode_t current_umask() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("Umask:", 0) == 0) return static_cast<mode_t>(std::strtoul(line.c_str() + 6, nullptr, 8));
  return 022;
}

}  // namespace

// The file is replaced whole (a temporary file beside it, fsync, rename), so that a crash or a full
// disk leaves the previous file, never half a new one. The user named this path, so a symbolic
// link is followed: a link to a regular file has that file replaced (the link stays); what is not
// a regular file (/dev/stdout, a pipe) is written in place.
Status write_json_file(const nlohmann::json& json, const std::string& path) {
  const std::string text = dump_json(json, 2) + "\n";
  std::string target = path;
  struct stat link {};
  if (::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
    char* resolved = ::realpath(path.c_str(), nullptr);
    if (resolved) {
      target = resolved;
      std::free(resolved);
    }
  }
  struct stat existing {};
  const bool exists = ::stat(target.c_str(), &existing) == 0;
  if (exists && !S_ISREG(existing.st_mode)) {
    if (S_ISDIR(existing.st_mode))
      return Error{"cannot write " + path + ": it is a folder; give a file name"};
    const int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return Error{"cannot write " + path + ": " + std::strerror(errno)};
    Status written = write_all_to(fd, text, path);
    ::close(fd);
    return written;
  }
  std::filesystem::path folder = std::filesystem::path(target).parent_path();
  if (folder.empty()) folder = ".";
  std::string temporary =
      (folder / ("." + std::filesystem::path(target).filename().string() + ".tmp-XXXXXX")).string();
  const int fd = ::mkostemp(temporary.data(), O_CLOEXEC);
  if (fd < 0)
    return Error{"cannot write " + path + ": " + std::strerror(errno) + " (choose another --json path)"};
  const mode_t mode = exists ? (existing.st_mode & 07777) : (0666 & ~current_umask());
  Status written = write_all_to(fd, text, path);
  if (written && ::fchmod(fd, mode) != 0)
    written = Error{"cannot write " + path + ": " + std::strerror(errno)};
  if (written && ::fsync(fd) != 0) written = Error{"cannot write " + path + ": " + std::strerror(errno)};
  ::close(fd);
  if (written && std::rename(temporary.c_str(), target.c_str()) != 0)
    written = Error{"cannot write " + path + ": " + std::strerror(errno)};
  if (!written) {
    ::unlink(temporary.c_str());
    return Error{written.error().message + " (the file is as it was)"};
  }
  return Ok{};
}

}  // namespace carbonmeter
