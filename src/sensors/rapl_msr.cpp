#include "sensors/rapl_msr.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>

#include "core/energy_counter.hpp"
#include "core/roots.hpp"
#include "core/text_file.hpp"
#include "sensors/rapl_powercap.hpp"

namespace carbonmeter {
namespace {

constexpr double kMaxDomainPowerW = 1000.0;
constexpr std::uint64_t kCounterMax32 = 0xFFFFFFFFull;

class MsrFile {
 public:
  explicit MsrFile(std::string path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) errno_ = errno;
  }
  MsrFile(MsrFile&& other) noexcept : path_(std::move(other.path_)), fd_(other.fd_), errno_(other.errno_) {
    other.fd_ = -1;
  }
  MsrFile(const MsrFile&) = delete;
  ~MsrFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool is_open() const { return fd_ >= 0; }
  int error_number() const { return errno_; }
  const std::string& path() const { return path_; }
  Result<std::uint64_t> read(std::uint32_t reg) {
    std::uint64_t value = 0;
    if (::pread(fd_, &value, sizeof value, static_cast<off_t>(reg)) != sizeof value) {
      errno_ = errno;
      return Error{path_ + ": cannot read register " + std::to_string(reg) + ": " +
                   std::strerror(errno_ ? errno_ : EIO)};
    }
    return value;
  }

 private:
  std::string path_;
  int fd_ = -1;
  int errno_ = 0;
};

struct MsrChannel {
  std::size_t socket_file = 0;
  std::uint32_t reg = 0;
  EnergyCounter counter;
};

class RaplMsrSensor final : public EnergySensor {
 public:
  RaplMsrSensor(std::vector<MsrFile> files, std::vector<Channel> channels, std::vector<MsrChannel> registers)
      : files_(std::move(files)), channels_(std::move(channels)), registers_(std::move(registers)) {}
  std::string method() const override { return "rapl-msr"; }
  std::string kind() const override { return "measured counter"; }
  double relative_uncertainty(Component c) const override { return c == Component::ram ? 0.10 : 0.05; }
  const std::vector<Channel>& channels() const override { return channels_; }
  void read(const SampleContext& context, std::span<ChannelReading> out) override {
    for (std::size_t i = 0; i < registers_.size(); ++i) {
      MsrChannel& channel = registers_[i];
      auto raw = files_[channel.socket_file].read(channel.reg);
      if (!raw) {
        out[i] = {};
        channel.counter.missed(context.elapsed_s);
        continue;
      }
      out[i] = {channel.counter.update(raw.value() & kCounterMax32, context.elapsed_s).energy_j,
                std::nullopt};
    }
  }
  double max_interval_s() const override {
    double shortest = std::numeric_limits<double>::infinity();
    for (const MsrChannel& channel : registers_)
      shortest = std::min(shortest, channel.counter.shortest_wrap_time_s());
    return shortest / 2.0;
  }

 private:
  std::vector<MsrFile> files_;
  std::vector<Channel> channels_;
  std::vector<MsrChannel> registers_;
};

// The first CPU of each socket, from sysfs topology; cpu 0 alone when topology is missing.
std::map<int, int> first_cpu_per_socket() {
  std::map<int, int> out;
  const std::string cpu_dir = sysfs_root() + "/devices/system/cpu";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(cpu_dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.size() < 4 || name.rfind("cpu", 0) != 0 || !std::all_of(name.begin() + 3, name.end(), ::isdigit))
      continue;
    int cpu = 0;
    auto [end, error] = std::from_chars(name.data() + 3, name.data() + name.size(), cpu);
    if (error != std::errc() || end != name.data() + name.size()) continue;
    auto package = read_text_file(entry.path().string() + "/topology/physical_package_id");
    if (!package) continue;
    auto id = parse_u64(package.value());
    if (!id) continue;
    int socket = static_cast<int>(*id);
    if (!out.count(socket) || cpu < out[socket]) out[socket] = cpu;
  }
  if (out.empty()) out[0] = 0;
  return out;
}

double energy_unit_j(std::uint64_t unit_register) {
  return 1.0 / std::pow(2.0, static_cast<double>((unit_register >> 8) & 0x1F));
}

}  // namespace

bool intel_dram_uses_fixed_unit(int family, int model) {
  if (family != 6) return false;
  static constexpr int kServerModels[] = {0x3F, 0x4F, 0x56, 0x55, 0x6A, 0x6C,
                                          0x8F, 0xCF, 0xAD, 0xAE, 0x57, 0x85};
  return std::find(std::begin(kServerModels), std::end(kServerModels), model) != std::end(kServerModels);
}

ProbeOutcome probe_rapl_msr(const RaplDomains& domains, const CpuInfo& cpu) {
  ProbeOutcome outcome;
  outcome.status.method = "rapl-msr";
  outcome.status.components = "cpu, ram";
  const bool intel = cpu.vendor_id == "GenuineIntel";
  const bool amd = cpu.vendor_id == "AuthenticAMD" || cpu.vendor_id == "HygonGenuine";
  if (!intel && !amd) {
    outcome.status.detail = "no RAPL MSRs on CPU vendor '" + cpu.vendor_id + "'";
    return outcome;
  }
  if (domains.psys || domains.core || domains.uncore) {
    outcome.status.detail = "the MSR path reads package and dram only";
    outcome.status.fix = "use --rapl-domains package,dram, or make powercap readable";
    return outcome;
  }

  std::vector<MsrFile> files;
  std::vector<Channel> channels;
  std::vector<MsrChannel> registers;
  std::string problems;
  bool denied = false;
  for (auto [socket, first_cpu] : first_cpu_per_socket()) {
    MsrFile file(dev_root() + "/cpu/" + std::to_string(first_cpu) + "/msr");
    if (!file.is_open()) {
      denied = denied || file.error_number() == EACCES || file.error_number() == EPERM;
      problems += (problems.empty() ? "" : "; ") + file.path() + ": " + std::strerror(file.error_number());
      continue;
    }
    auto units = file.read(intel ? msr::kIntelPowerUnit : msr::kAmdPowerUnit);
    if (!units) {
      problems += (problems.empty() ? "" : "; ") + units.error().message;
      continue;
    }
    const double unit_j = energy_unit_j(units.value());
    const std::string device = "package-" + std::to_string(socket);
    const std::size_t index = files.size();
    if (domains.package) {
      std::uint32_t reg = intel ? msr::kIntelPackageEnergy : msr::kAmdPackageEnergy;
      if (file.read(reg)) {
        channels.push_back({Component::cpu, device, "package", "", ""});
        registers.push_back({index, reg, EnergyCounter(unit_j, kCounterMax32, kMaxDomainPowerW)});
      }
    }
    if (domains.dram && intel) {
      auto dram = file.read(msr::kIntelDramEnergy);
      if (dram && (dram.value() & kCounterMax32) != 0) {  // client chips read 0: no dram domain
        double dram_unit_j = intel_dram_uses_fixed_unit(cpu.family, cpu.model) ? 1.0 / 65536.0 : unit_j;
        channels.push_back({Component::ram, device, "dram", "", ""});
        registers.push_back(
            {index, msr::kIntelDramEnergy, EnergyCounter(dram_unit_j, kCounterMax32, kMaxDomainPowerW)});
      }
    }
    files.push_back(std::move(file));
  }
  if (registers.empty()) {
    outcome.status.detail = problems.empty() ? "no readable RAPL register" : problems;
    outcome.status.fix = denied ? "reading MSRs needs root (or CAP_SYS_RAWIO) and the msr module "
                                  "(`sudo modprobe msr`); " +
                                      rapl_permission_fix()
                                : "load the msr module: `sudo modprobe msr`";
    return outcome;
  }
  std::string detail = "reading";
  for (const Channel& channel : channels) detail += " " + channel.device + "/" + channel.domain;
  outcome.status.found = true;
  outcome.status.detail = detail;
  outcome.status.missing = problems;
  outcome.sensor =
      std::make_unique<RaplMsrSensor>(std::move(files), std::move(channels), std::move(registers));
  return outcome;
}

}  // namespace carbonmeter
