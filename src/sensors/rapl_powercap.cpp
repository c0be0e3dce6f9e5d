#include "sensors/rapl_powercap.hpp"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <map>
#include <regex>

#include "core/energy_counter.hpp"
#include "core/roots.hpp"
#include "core/text_file.hpp"

namespace carbonmeter {
namespace {

// No RAPL domain draws more than this; it bounds the wrap time and tells wraps from resets.
constexpr double kMaxZonePowerW = 1000.0;
constexpr double kPackageUncertainty = 0.05;
constexpr std::uint64_t kDefaultRangeUj = 262'143'328'850;
constexpr double kDramUncertainty = 0.10;

struct Zone {
  std::string dir;       // .../intel-rapl:0:2
  std::string dir_name;  // intel-rapl:0:2
  std::string name;      // dram
  std::string domain;    // package, dram, psys, core, uncore
  std::string device;    // package-0
  bool mmio = false;
  std::uint64_t max_range_uj = 0;
};

std::string domain_of(const std::string& name) {
  if (name.rfind("package-", 0) == 0) return "package";
  return name;  // dram, psys, core, uncore
}

class RaplPowercapSensor final : public EnergySensor {
 public:
  explicit RaplPowercapSensor(std::vector<Zone> zones) {
    for (Zone& zone : zones) {
      channels_.push_back(
          {zone.domain == "dram" ? Component::ram : Component::cpu, zone.device, zone.domain, "", ""});
      files_.emplace_back(zone.dir + "/energy_uj");
      counters_.emplace_back(1e-6, zone.max_range_uj, kMaxZonePowerW);
      paths_.push_back(zone.dir);
    }
  }
  std::string method() const override { return "rapl-powercap"; }
  std::string kind() const override { return "measured counter"; }
  double relative_uncertainty(Component c) const override {
    return c == Component::ram ? kDramUncertainty : kPackageUncertainty;
  }
  const std::vector<Channel>& channels() const override { return channels_; }

  void read(const SampleContext& context, std::span<ChannelReading> out) override {
    for (std::size_t i = 0; i < files_.size(); ++i) {
      auto raw = files_[i].read_u64();
      if (!raw) {
        out[i] = {};
        counters_[i].missed(context.elapsed_s);
        if (!read_failed_)
          notes_.push_back("rapl-powercap: " + raw.error().message +
                           "; that zone's energy is missing while it cannot be read");
        read_failed_ = true;
        continue;
      }
      CounterDelta delta = counters_[i].update(raw.value(), context.elapsed_s);
      if (delta.event == CounterEvent::reset)
        notes_.push_back("rapl-powercap: counter of " + paths_[i] +
                         " went back (reset, not a wrap): that interval counts only what it "
                         "holds since the reset");
      if (delta.event == CounterEvent::glitch)
        notes_.push_back("rapl-powercap: counter of " + paths_[i] +
                         " jumped by more than any CPU can draw (" + std::to_string(raw.value()) +
                         " uJ): that interval counts nothing for it");
      out[i] = {delta.energy_j, std::nullopt};
    }
  }
  double max_interval_s() const override {
    double shortest = std::numeric_limits<double>::infinity();
    for (const EnergyCounter& counter : counters_)
      shortest = std::min(shortest, counter.shortest_wrap_time_s());
    return shortest / 2.0;
  }
  std::vector<std::string> take_notes() override { return std::exchange(notes_, {}); }

 private:
  std::vector<Channel> channels_;
  std::vector<RereadableFile> files_;
  std::vector<EnergyCounter> counters_;
  std::vector<std::string> paths_;
  std::vector<std::string> notes_;
  bool read_failed_ = false;
};

std::vector<Zone> list_zones(const std::string& powercap_dir) {
  static const std::regex zone_name(R"(intel-rapl(-mmio)?:(\d+)(:(\d+))?)");
  std::vector<Zone> zones;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(powercap_dir, ec)) {
    std::string dir_name = entry.path().filename().string();
    std::smatch match;
    if (!std::regex_match(dir_name, match, zone_name)) continue;
    Zone zone;
    zone.dir = entry.path().string();
    zone.dir_name = dir_name;
    zone.mmio = match[1].matched;
    auto name = read_text_file(zone.dir + "/name");
    if (!name) continue;
    zone.name = std::string(trim(name.value()));
    zone.domain = domain_of(zone.name);
    if (auto range = read_text_file(zone.dir + "/max_energy_range_uj"))
      zone.max_range_uj = parse_u64(range.value()).value_or(0);
    // Real ranges are tens to hundreds of kJ; a missing one or one under 100 J is not believed (it
    // would force absurd sampling rates): the 32-bit counter's range at the usual 61 µJ unit is used.
    if (zone.max_range_uj < 100'000'000) zone.max_range_uj = kDefaultRangeUj;
    zone.device = zone.name;
    if (match[3].matched) {  // a subzone: its device is the parent package
      std::string parent_dir =
          powercap_dir + "/" + (zone.mmio ? "intel-rapl-mmio:" : "intel-rapl:") + match[2].str();
      if (auto parent = read_text_file(parent_dir + "/name"))
        zone.device = std::string(trim(parent.value()));
      else
        zone.device = "package-" + match[2].str();
    }
    zones.push_back(std::move(zone));
  }
  std::sort(zones.begin(), zones.end(), [](const Zone& a, const Zone& b) {
    return std::tie(a.device, a.domain, a.mmio) < std::tie(b.device, b.domain, b.mmio);
  });
  return zones;
}

}  // namespace

std::string rapl_permission_fix() {
  return "energy_uj is readable only by root on current kernels: run as root, or grant read access "
         "once with the udev rule in scripts/udev/90-carbonmeter-rapl.rules (group 'carbonmeter'), "
         "or `sudo setcap cap_dac_read_search+ep $(command -v carbonmeter)`";
}

ProbeOutcome probe_rapl_powercap(const RaplDomains& domains) {
  ProbeOutcome outcome;
  outcome.status.method = "rapl-powercap";
  outcome.status.components = "cpu, ram";
  const std::string powercap_dir = sysfs_root() + "/class/powercap";
  std::vector<Zone> all = list_zones(powercap_dir);
  if (all.empty()) {
    outcome.status.detail = "no intel-rapl zone under " + powercap_dir;
    outcome.status.fix =
        "on bare metal load the driver (`modprobe intel_rapl_common` or "
        "`intel_rapl_msr`); virtual machines and most containers have no RAPL";
    return outcome;
  }

  // One zone per (device, domain): the MSR-backed intel-rapl zone wins over its mmio duplicate.
  std::vector<Zone> chosen;
  std::string found_names;
  bool denied = false;
  std::string unreadable;
  for (const Zone& zone : all) {
    found_names += (found_names.empty() ? "" : ", ") + zone.dir_name + "=" + zone.name;
    if (!domains.wants(zone.domain)) continue;
    bool duplicate = std::any_of(chosen.begin(), chosen.end(), [&](const Zone& c) {
      return c.device == zone.device && c.domain == zone.domain;
    });
    if (duplicate) continue;
    RereadableFile probe(zone.dir + "/energy_uj");
    if (auto value = probe.read_u64(); !value) {
      if (probe.last_errno() == EACCES || probe.last_errno() == EPERM) denied = true;
      unreadable += (unreadable.empty() ? "" : "; ") + value.error().message;
      continue;
    }
    chosen.push_back(zone);
  }
  if (chosen.empty()) {
    outcome.status.detail =
        "zones found (" + found_names + ") but none selected is readable" +
        (unreadable.empty() ? std::string(" for the chosen --rapl-domains") : ": " + unreadable);
    outcome.status.fix =
        denied ? rapl_permission_fix() : "choose domains that exist here with --rapl-domains";
    return outcome;
  }
  std::string detail;
  for (const Zone& zone : chosen)
    detail += (detail.empty() ? "" : ", ") + zone.device +
              (zone.domain == "package" || zone.domain == "psys" ? "" : "/" + zone.domain);
  outcome.status.found = true;
  outcome.status.detail = "reading " + detail;
  if (!unreadable.empty()) {
    outcome.status.missing = unreadable;
    if (denied) outcome.status.fix = rapl_permission_fix();
  }
  outcome.sensor = std::make_unique<RaplPowercapSensor>(std::move(chosen));
  return outcome;
}

}  // namespace carbonmeter
