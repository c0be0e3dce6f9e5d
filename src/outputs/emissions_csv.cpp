#include "outputs/emissions_csv.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <optional>
#include <set>

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

// Closes a file descriptor (and so releases its flock) on every way out.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// What the append needs of an existing file: its first line and whether it ends in a newline.
struct FileHead {
  bool empty = true;
  std::string first_line;  // without its '\n' ('\r' and a BOM kept)
  bool ends_with_newline = true;
};

Result<FileHead> read_head(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Error{"cannot read " + path + ": " + std::strerror(errno)};
  FileHead head;
  if (st.st_size == 0) return head;
  head.empty = false;
  constexpr std::size_t kMaxHeader = 1 << 20;  // a header longer than this is not one we know
  char buffer[4096];
  for (off_t offset = 0; head.first_line.size() < kMaxHeader;) {
    const ssize_t n = ::pread(fd, buffer, sizeof buffer, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error{"cannot read " + path + ": " + std::strerror(errno)};
    if (n == 0) break;
    const char* newline = static_cast<const char*>(std::memchr(buffer, '\n', static_cast<std::size_t>(n)));
    head.first_line.append(
        buffer, newline ? static_cast<std::size_t>(newline - buffer) : static_cast<std::size_t>(n));
    if (newline) break;
    offset += n;
  }
  char last = '\n';
  if (::pread(fd, &last, 1, st.st_size - 1) != 1)
    return Error{"cannot read " + path + ": " + std::strerror(errno)};
  head.ends_with_newline = last == '\n';
  return head;
}

// A CSV header line's names (RFC 4180 quoting), or nothing when it is not well formed.
std::optional<std::vector<std::string>> header_names(std::string line) {
  if (line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  std::vector<std::string> names(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c != '"') {
        names.back() += c;
      } else if (i + 1 < line.size() && line[i + 1] == '"') {
        names.back() += '"';
        ++i;
      } else {
        quoted = false;
      }
    } else if (c == ',') {
      names.emplace_back();
    } else if (c == '"' && names.back().empty()) {
      quoted = true;
    } else {
      names.back() += c;
    }
  }
  if (quoted) return std::nullopt;
  return names;
}

// True when every name is one we can fill (CodeCarbon's or ours) and none repeats.
bool all_known(const std::vector<std::string>& names) {
  const auto& known = emissions_csv_columns();
  std::set<std::string> seen;
  for (const std::string& name : names)
    if (std::find(known.begin(), known.end(), name) == known.end() || !seen.insert(name).second) return false;
  return true;
}

// Moves the file aside to a name that does not exist yet (never replacing another backup).
Result<std::string> move_aside(const std::string& path, const std::string& run_id) {
  const std::string base = fmt::format("{}.backup-{}", path, run_id.empty() ? "unknown" : run_id);
  int error = 0;
  for (int n = 1; n < 1000; ++n) {
    const std::string backup = n == 1 ? base : fmt::format("{}-{}", base, n);
    if (::renameat2(AT_FDCWD, path.c_str(), AT_FDCWD, backup.c_str(), RENAME_NOREPLACE) == 0) return backup;
    error = errno;
    if (error == EEXIST) continue;
    if (error != EINVAL && error != ENOSYS) break;
    // A file system without RENAME_NOREPLACE: a hard link fails on an existing name as well.
    if (::link(path.c_str(), backup.c_str()) == 0) {
      ::unlink(path.c_str());
      return backup;
    }
    error = errno;
    if (error == EEXIST) continue;
    break;
  }
  return Error{fmt::format(
      "{} has another header and cannot be moved aside: {} (move it yourself, or use another --output-dir)",
      path, std::strerror(error))};
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
          "intensity_source", "intensity_how", "location_guessed", "machine_energy", "embodied_emissions_kg"})
      out.push_back(own);
    return out;
  }();
  return columns;
}

Result<CsvAppendOutcome> append_emissions_csv(const std::string& dir, const RunReport& report,
                                              const CarbonAccount& account, const ResolvedLocation& location,
                                              std::optional<double> embodied_g) {
  CsvAppendOutcome outcome;
  outcome.path = dir + "/emissions.csv";

  // Every column's value, in emissions_csv_columns()' order.
  const double duration = report.duration_s;
  auto power = [&](Component c) { return duration > 0 ? report.energy_j[c] / duration : 0.0; };
  auto kwh = [&](Component c) { return report.energy_j[c] / kJoulesPerKwh; };
  auto cpu = read_cpuinfo();
  MachineStatReader machine;
  auto memory = machine.memory();
  int gpu_count = 0;
  const std::string gpus = gpu_model(report, gpu_count);
  const std::string gib =
      memory ? number(static_cast<double>(memory.value().total_bytes) / (1024.0 * 1024 * 1024)) : "";
  const std::string intensity_source =
      location.constant ? location.constant->source : (location.series ? location.series->name() : "");
  const std::map<std::string, std::string> values{
      {"timestamp", local_timestamp(report.header.start_unix_s + duration)},
      {"project_name", report.header.project_name},
      {"run_id", report.header.run_id},
      {"experiment_id", ""},
      {"duration", number(duration)},
      {"emissions", number(account.emissions_g / 1000.0)},
      {"emissions_rate", number(duration > 0 ? account.emissions_g / 1000.0 / duration : 0.0)},
      {"cpu_power", number(power(Component::cpu))},
      {"gpu_power", number(power(Component::gpu))},
      {"ram_power", number(power(Component::ram))},
      {"cpu_energy", number(kwh(Component::cpu))},
      {"gpu_energy", number(kwh(Component::gpu))},
      {"ram_energy", number(kwh(Component::ram))},
      {"energy_consumed", number(account.energy_kwh)},
      {"water_consumed", number(account.water_l)},
      {"country_name", location.country_name},
      {"country_iso_code", location.country_iso3},
      {"region", location.region},
      {"cloud_provider", location.cloud_provider},
      {"cloud_region", location.cloud_region},
      {"os", os_string()},
      {"python_version", ""},
      {"codecarbon_version", ""},
      {"cpu_count", cpu ? std::to_string(cpu.value().logical_cpus) : ""},
      {"cpu_model", cpu ? cpu.value().model_name : ""},
      {"gpu_count", std::to_string(gpu_count)},
      {"gpu_model", gpus},
      {"longitude", ""},
      {"latitude", ""},
      {"ram_total_size", gib},
      {"tracking_mode", report.header.scope},
      {"cpu_utilization_percent", ""},
      {"gpu_utilization_percent", ""},
      {"ram_utilization_percent", ""},
      {"ram_used_gb", ""},
      {"on_cloud", location.cloud_provider.empty() ? "N" : "Y"},
      {"pue", number(location.pue)},
      {"wue", number(location.wue_l_per_kwh)},
      // ours
      {"carbonmeter_version", std::string(kVersion)},
      {"cpu_energy_method", report.header.methods[Component::cpu].method},
      {"gpu_energy_method", report.header.methods[Component::gpu].method},
      {"ram_energy_method", report.header.methods[Component::ram].method},
      // The energy's own uncertainty (the account's, from the components' methods); the
      // intensity's is in emissions_low/high, not here.
      {"energy_relative_uncertainty", number(account.energy_relative_uncertainty)},
      {"emissions_low", number(account.low_g / 1000.0)},
      {"emissions_high", number(account.high_g / 1000.0)},
      {"intensity_g_per_kwh", number(account.intensity_g_per_kwh)},
      {"intensity_source", intensity_source},
      {"intensity_how", location.how},
      {"location_guessed", location.guessed ? "Y" : "N"},
      {"machine_energy", number(report.machine_energy_j.total() / kJoulesPerKwh)},
      {"embodied_emissions_kg", embodied_g ? number(*embodied_g / 1000.0) : ""},
  };
  const auto& all = emissions_csv_columns();
  for (const std::string& column : all)
    if (!values.count(column)) return Error{"emissions.csv: internal error: no value for " + column};
  auto value_of = [&](const std::string& name) { return values.at(name); };

  // Open, lock, check the header, append; start again when another run moved the file aside
  // between our open and our lock, or when we moved it aside ourselves.
  for (int attempt = 0; attempt < 100; ++attempt) {
    // O_NOFOLLOW: emissions.csv is a name carbonmeter chose inside --output-dir, so a symbolic link
    // there points somewhere the user did not name and is refused. O_NONBLOCK: a FIFO planted there
    // fails the regular-file check below instead of blocking the open.
    Fd fd(::open(outcome.path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
                 0644));
    if (fd.get() < 0 && errno == ELOOP)
      return Error{
          outcome.path +
          " is a symbolic link: carbonmeter does not follow it (remove it, or choose another --output-dir)"};
    if (fd.get() < 0)
      return Error{"cannot write " + outcome.path + ": " + std::strerror(errno) + " (choose --output-dir)"};
    if (struct stat st{}; ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
      return Error{outcome.path +
                   " is not a regular file: carbonmeter appends only to one (move it away, or "
                   "choose another --output-dir)"};
    int locked;
    while ((locked = ::flock(fd.get(), LOCK_EX)) != 0 && errno == EINTR) {
    }
    if (locked != 0) return Error{"cannot lock " + outcome.path + ": " + std::strerror(errno)};
    struct stat by_fd {
    }, by_path{};
    if (::fstat(fd.get(), &by_fd) != 0 || ::lstat(outcome.path.c_str(), &by_path) != 0 ||
        by_fd.st_dev != by_path.st_dev || by_fd.st_ino != by_path.st_ino)
      continue;  // moved aside (or removed) while we waited: open the file now there
    auto head = read_head(fd.get(), outcome.path);
    if (!head) return head.error();

    std::vector<std::string> columns = all;
    std::string eol = "\n";
    if (!head.value().empty) {
      auto names = header_names(head.value().first_line);
      if (!names || !all_known(*names)) {
        auto backup = move_aside(outcome.path, report.header.run_id);
        if (!backup) return backup.error();
        outcome.backup = backup.value();
        continue;  // closing releases the lock: a new file is started on the next attempt
      }
      columns = *names;
      outcome.codecarbon_layout = columns != all;
      // The file's own line ending, so that a CRLF file stays CRLF.
      if (!head.value().first_line.empty() && head.value().first_line.back() == '\r') eol = "\r\n";
    }
    outcome.columns = columns;

    std::string line;
    if (head.value().empty) {
      line = header_line(all) + eol;
    } else if (!head.value().ends_with_newline) {
      line = eol;  // a writer that died mid-line: ours starts on a line of its own
    }
    std::string cells;
    for (std::size_t i = 0; i < columns.size(); ++i)
      cells += (i ? "," : "") + csv_field(value_of(columns[i]));
    line += cells + eol;
    // One write with O_APPEND, under the lock: the row lands whole, after whatever is there. A
    // process killed (SIGKILL) during a write to a regular file leaves all of it or none. A short
    // write (a full disk, a quota) is undone: the file is cut back to its size before, so that it
    // never ends in half a row. Then fdatasync: the row survives a power cut once we return.
    struct stat before {};
    if (::fstat(fd.get(), &before) != 0)
      return Error{"cannot append to " + outcome.path + ": " + std::strerror(errno)};
    ssize_t written;
    while ((written = ::write(fd.get(), line.data(), line.size())) < 0 && errno == EINTR) {
    }
    if (written != static_cast<ssize_t>(line.size())) {
      const int error = written < 0 ? errno : ENOSPC;
      if (written > 0 && ::ftruncate(fd.get(), before.st_size) != 0)
        return Error{fmt::format("cannot append to {}: {}; its last {} bytes are half a row: delete them",
                                 outcome.path, std::strerror(error), written)};
      return Error{"cannot append to " + outcome.path + ": " + std::strerror(error) +
                   " (the file is as it was; free space or choose another --output-dir)"};
    }
    if (::fdatasync(fd.get()) != 0 && errno != EINVAL)
      return Error{"cannot append to " + outcome.path + ": " + std::strerror(errno)};
    return outcome;
  }
  return Error{"cannot append to " + outcome.path + ": it keeps being replaced by another writer"};
}

}  // namespace carbonmeter
