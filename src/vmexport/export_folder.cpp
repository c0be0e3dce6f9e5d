#include "vmexport/export_folder.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "core/json_integer.hpp"
#include "core/text_file.hpp"
#include "sensors/rapl_powercap.hpp"

namespace carbonmeter::vmexport {
namespace {

std::optional<std::uint64_t> read_counter_file(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) return std::nullopt;
  auto value = parse_u64(trim(text.value()));
  if (!value || *value > kHostExportRangeUj) return std::nullopt;
  return value;
}

// The total a previous run reached: the marker's, when its counter agrees (the marker is written
// after the counters, so a crash between the two leaves the counter ahead: then the counter's).
std::uint64_t continued_total(const std::optional<std::uint64_t>& counter, const nlohmann::json& marker,
                              const char* key) {
  if (!counter) return 0;
  if (marker.is_object() && marker.contains("energy_uj_total") && marker["energy_uj_total"].contains(key) &&
      marker["energy_uj_total"][key].is_number_unsigned()) {
    const auto total = marker["energy_uj_total"][key].get<std::uint64_t>();
    if (total % (kHostExportRangeUj + 1) == *counter) return total;
  }
  return *counter;
}

}  // namespace

Status write_file_atomically(const std::string& path, const std::string& content) {
  const std::filesystem::path target(path);
  const std::string temporary =
      (target.parent_path() / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid())))
          .string();
  // Never through a link someone left in a folder a guest may see: a fresh file or nothing.
  ::unlink(temporary.c_str());
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return Error{"cannot write " + path + ": " + std::strerror(errno)};
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = errno;
      ::close(fd);
      ::unlink(temporary.c_str());
      return Error{"cannot write " + path + ": " + std::strerror(error)};
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0 || ::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    return Error{"cannot write " + path + ": " + std::strerror(error)};
  }
  return Ok{};
}

void ZoneCounter::add(double energy_j) {
  if (energy_j > 0 && std::isfinite(energy_j)) added_uj_ += energy_j * 1e6;
}

std::uint64_t ZoneCounter::total_uj() const {
  return start_uj_ + static_cast<std::uint64_t>(std::llround(added_uj_));
}

std::uint64_t ZoneCounter::counter_uj() const { return total_uj() % (kHostExportRangeUj + 1); }

PreviousExport read_previous_export(const std::string& folder_dir) {
  PreviousExport out;
  std::error_code ec;
  out.exists = std::filesystem::exists(folder_dir, ec);
  if (!out.exists) return out;
  const std::string marker_path = folder_dir + "/" + kHostExportMarkerFile;
  // An empty folder is taken too: made beforehand for the VM's mount (virtiofsd and 9p need it).
  out.ours = std::filesystem::exists(marker_path, ec) ||
             std::filesystem::exists(folder_dir + "/" + kCpuZone, ec) ||
             (std::filesystem::is_directory(folder_dir, ec) && std::filesystem::is_empty(folder_dir, ec));
  if (!out.ours) return out;
  if (auto text = read_text_file(marker_path)) {
    try {
      out.marker = nlohmann::json::parse(text.value());
      const nlohmann::json& vm = out.marker.at("vm");
      const auto pid = json_integer(vm.at("pid"), 1, 0x7fffffff);
      const auto start_ticks = vm.contains("start_ticks") ? json_integer(vm["start_ticks"], 0, INT64_MAX)
                                                          : std::optional<std::int64_t>(0);
      if (pid && start_ticks) {
        out.pid = static_cast<pid_t>(*pid);
        out.start_ticks = static_cast<std::uint64_t>(*start_ticks);
        out.state = vm.value("state", "");
      } else {
        out.marker = nullptr;  // a pid or start time that is not an integer: unreadable as a whole
      }
    } catch (const nlohmann::json::exception&) {
      out.marker = nullptr;  // unreadable: the counters alone say where to continue
      out.pid.reset();
    }
  }
  out.cpu_total_uj =
      continued_total(read_counter_file(folder_dir + "/" + kCpuZone + "/energy_uj"), out.marker, "cpu");
  out.ram_total_uj =
      continued_total(read_counter_file(folder_dir + "/" + kRamZone + "/energy_uj"), out.marker, "ram");
  return out;
}

Status write_zone_identity(const std::string& zone_dir, const std::string& name) {
  std::error_code ec;
  std::filesystem::create_directories(zone_dir, ec);
  if (ec) return Error{"cannot create " + zone_dir + ": " + ec.message()};
  if (auto written = write_file_atomically(zone_dir + "/name", name + "\n"); !written) return written;
  return write_file_atomically(zone_dir + "/max_energy_range_uj", std::to_string(kHostExportRangeUj) + "\n");
}

Status write_zone_counter(const std::string& zone_dir, const ZoneCounter& counter) {
  return write_file_atomically(zone_dir + "/energy_uj", std::to_string(counter.counter_uj()) + "\n");
}

}  // namespace carbonmeter::vmexport
