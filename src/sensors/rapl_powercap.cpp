#include "sensors/rapl_powercap.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>

#include "core/energy_counter.hpp"
#include "core/roots.hpp"
#include "core/run_report.hpp"
#include "core/text_file.hpp"

namespace carbonmeter {
namespace {

// No RAPL domain draws more than this; it bounds the wrap time and tells wraps from resets.
constexpr double kMaxZonePowerW = 1000.0;
constexpr double kPackageUncertainty = 0.05;
constexpr std::uint64_t kDefaultRangeUj = 262'143'328'850;
constexpr double kDramUncertainty = 0.10;
// Host export: what sharing the host's energy out among its VMs adds when the marker does not say
// (the same causes as --scope process: CPU-time ticks, shared pages; docs/vm_export.md).
constexpr double kHostExportCpuAttribution = 0.05;
constexpr double kHostExportRamAttribution = 0.25;
// How often a guest re-reads the marker to notice an export that stopped moving.
constexpr double kHostExportRecheckS = 10.0;

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

// What the marker of a host export (carbonmeter vm-export) says about the numbers beside it.
struct HostExport {
  std::string marker_path;
  std::string vm_name;
  PerComponent<MethodInfo> host;  // the host's methods for cpu and ram
  PerComponent<double> attribution;
  double interval_s = 1.0;
  std::string state;  // "running", "stopped"
  bool exporting = true;
  double updated_unix_s = 0.0;
};

double unix_now_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Result<HostExport> read_host_export(const std::string& marker_path) {
  auto text = read_text_file(marker_path);
  if (!text) return text.error();
  try {
    const nlohmann::json marker = nlohmann::json::parse(text.value());
    if (marker.value("format", "").rfind("carbonmeter-host-export/", 0) != 0)
      return Error{marker_path + " is not a carbonmeter host export (no \"format\": \"" +
                   std::string(kHostExportFormat) + "\")"};
    HostExport out;
    out.marker_path = marker_path;
    const nlohmann::json& vm = marker.at("vm");
    out.vm_name = vm.value("name", "");
    out.state = vm.value("state", "running");
    out.exporting = marker.value("exporting", true);
    out.interval_s = marker.value("interval_s", 1.0);
    if (!std::isfinite(out.interval_s) || out.interval_s < 0.01 || out.interval_s > 3600)
      return Error{marker_path + ": interval_s " + fmt::format("{}", out.interval_s) +
                   " is not a number of seconds from 0.01 to 3600"};
    out.updated_unix_s = marker.value("updated_unix_s", 0.0);
    for (Component c : {Component::cpu, Component::ram}) {
      const std::string key(component_name(c));
      const nlohmann::json& host = marker.at("host").at(key);
      out.host[c] = {host.at("method").get<std::string>(), host.at("kind").get<std::string>(),
                     host.at("relative_uncertainty").get<double>()};
      const double fallback = c == Component::cpu ? kHostExportCpuAttribution : kHostExportRamAttribution;
      out.attribution[c] = fallback;
      if (marker.contains("attribution") && marker["attribution"].contains(key))
        out.attribution[c] = marker["attribution"][key].value("relative_uncertainty", fallback);
    }
    return out;
  } catch (const nlohmann::json::exception& e) {
    return Error{marker_path + " cannot be read as a host export: " + e.what()};
  }
}

// Why the numbers of a host export may have stopped moving, or nothing when they look current.
std::optional<std::string> host_export_problem(const HostExport& info, double now_unix_s) {
  const std::string vm = "VM '" + info.vm_name + "'";
  if (info.state == "stopped")
    return "host-export: the host marks " + vm +
           " as stopped, so its counters no longer move: is CARBONMETER_SYSFS_ROOT this VM's folder of the "
           "export?";
  if (!info.exporting)
    return "host-export: carbonmeter vm-export no longer runs on the host (it stopped at " +
           format_iso8601_utc(info.updated_unix_s) + "): the energy of " + vm +
           " after that is missing until it is started again";
  const double age_s = now_unix_s - info.updated_unix_s;
  if (age_s > std::max(10.0, 5.0 * info.interval_s))
    return "host-export: the host last updated the export of " + vm + " " + fmt::format("{:.0f}", age_s) +
           " s ago (every " + fmt::format("{:g}", info.interval_s) +
           " s expected): is carbonmeter vm-export still running on the host? (or the guest's and host's "
           "clocks are apart, or the mount caches files: docs/vm_export.md)";
  return std::nullopt;
}

class RaplPowercapSensor final : public EnergySensor {
 public:
  explicit RaplPowercapSensor(std::vector<Zone> zones, std::optional<HostExport> host_export = std::nullopt)
      : host_export_(std::move(host_export)) {
    const double max_zone_power_w = host_export_ ? kHostExportMaxZonePowerW : kMaxZonePowerW;
    for (Zone& zone : zones) {
      channels_.push_back(
          {zone.domain == "dram" ? Component::ram : Component::cpu, zone.device, zone.domain, "", ""});
      files_.emplace_back(zone.dir + "/energy_uj");
      counters_.emplace_back(1e-6, zone.max_range_uj, max_zone_power_w);
      paths_.push_back(zone.dir);
      resets_.push_back(0);
      glitches_.push_back(0);
    }
  }
  std::string method() const override { return host_export_ ? "host-export" : "rapl-powercap"; }
  // A host export is as good as the host's method: one kind serves every channel, so the weaker of
  // the exported components' (a note names each).
  std::string kind() const override {
    if (!host_export_) return "measured counter";
    static const std::vector<std::string> weakest_first = {"none", "estimate", "integrated power"};
    for (const std::string& kind : weakest_first)
      for (const Channel& channel : channels_)
        if (host_export_->host[channel.component].kind == kind) return kind;
    return "measured counter";
  }
  double relative_uncertainty(Component c) const override {
    if (host_export_)
      return std::hypot(host_export_->host[c].relative_uncertainty, host_export_->attribution[c]);
    return c == Component::ram ? kDramUncertainty : kPackageUncertainty;
  }
  const std::vector<Channel>& channels() const override { return channels_; }

  void read(const SampleContext& context, std::span<ChannelReading> out) override {
    const std::string method_name = method();
    for (std::size_t i = 0; i < files_.size(); ++i) {
      auto raw = read_counter(i);
      if (!raw) {
        out[i] = {};
        counters_[i].missed(context.elapsed_s);
        if (!read_failed_)
          notes_.push_back(method_name + ": " + raw.error().message +
                           "; that zone's energy is missing while it cannot be read");
        read_failed_ = true;
        continue;
      }
      // An export moves in lumps, one per host interval: what a lump may hold is judged over the
      // host's interval too, not only over the time since this sensor's last read.
      const double judged_s = context.elapsed_s + (host_export_ ? host_export_->interval_s : 0.0);
      CounterDelta delta = counters_[i].update(raw.value(), judged_s);
      if (delta.event == CounterEvent::reset && said_often(resets_[i]))
        notes_.push_back(method_name + ": counter of " + paths_[i] + " went back (reset, not a wrap)" +
                         times(resets_[i]) + ": such an interval counts only what it holds since the reset");
      if (delta.event == CounterEvent::glitch && said_often(glitches_[i]))
        notes_.push_back(method_name + ": counter of " + paths_[i] +
                         " jumped by more than any CPU can draw (" + std::to_string(raw.value()) + " uJ)" +
                         times(glitches_[i]) + ": such an interval counts nothing for it");
      out[i] = {delta.energy_j, std::nullopt};
    }
    if (host_export_) recheck_host_export(context.elapsed_s);
  }
  double max_interval_s() const override {
    double shortest = std::numeric_limits<double>::infinity();
    for (const EnergyCounter& counter : counters_)
      shortest = std::min(shortest, counter.shortest_wrap_time_s());
    return shortest / 2.0;
  }
  std::vector<std::string> take_notes() override { return std::exchange(notes_, {}); }

 private:
  // A host export replaces its files (write and rename) so that no read sees half a number: the
  // file is opened again at every read, as a file kept open would keep showing the replaced one.
  Result<std::uint64_t> read_counter(std::size_t i) {
    if (!host_export_) return files_[i].read_u64();
    auto text = read_text_file(files_[i].path());
    if (!text) return text.error();
    if (auto value = parse_u64(trim(text.value()))) return *value;
    return Error{files_[i].path() + ": expected an unsigned integer"};
  }

  // Every kHostExportRecheckS: says once when the host stopped updating the export.
  void recheck_host_export(double elapsed_s) {
    since_recheck_s_ += elapsed_s;
    if (export_problem_said_ || since_recheck_s_ < kHostExportRecheckS) return;
    since_recheck_s_ = 0.0;
    auto info = read_host_export(host_export_->marker_path);
    std::optional<std::string> problem = info ? host_export_problem(info.value(), unix_now_s())
                                              : std::optional<std::string>(info.error().message);
    if (!problem) return;
    notes_.push_back(*problem);
    export_problem_said_ = true;
  }

  std::optional<HostExport> host_export_;
  double since_recheck_s_ = 0.0;
  bool export_problem_said_ = false;
  std::vector<Channel> channels_;
  std::vector<RereadableFile> files_;
  std::vector<EnergyCounter> counters_;
  std::vector<std::string> paths_;
  std::vector<std::string> notes_;
  bool read_failed_ = false;
  // Per channel: how often its counter went back or jumped. A counter that does so often is
  // said at the 1st, 10th, 100th... time, so that the notes stay few.
  std::vector<std::uint64_t> resets_, glitches_;

  static bool said_often(std::uint64_t& count) {
    ++count;
    for (std::uint64_t power = 1; power <= count; power *= 10)
      if (power == count) return true;
    return false;
  }
  static std::string times(std::uint64_t count) {
    return count == 1 ? "" : " (" + std::to_string(count) + " times so far)";
  }
};

// The zones in powercap_dir (/sys/class/powercap lists subzones beside their zone). nested: also
// the subzones inside each zone's own folder, as in /sys/devices/virtual/powercap/intel-rapl, the
// layout a host export copies; a zone found both ways counts once.
std::vector<Zone> list_zones(const std::string& powercap_dir, bool nested = false) {
  static const std::regex zone_name(R"(intel-rapl(-mmio)?:(\d+)(:(\d+))?)");
  std::vector<Zone> zones;
  std::vector<std::filesystem::path> zone_dirs;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(powercap_dir, ec)) {
    zone_dirs.push_back(entry.path());
    if (!nested || !std::regex_match(entry.path().filename().string(), zone_name)) continue;
    std::error_code inner_ec;
    for (const auto& inner : std::filesystem::directory_iterator(entry.path(), inner_ec))
      zone_dirs.push_back(inner.path());
  }
  for (const std::filesystem::path& path : zone_dirs) {
    std::string dir_name = path.filename().string();
    std::smatch match;
    if (!std::regex_match(dir_name, match, zone_name)) continue;
    if (std::any_of(zones.begin(), zones.end(), [&](const Zone& z) { return z.dir_name == dir_name; }))
      continue;
    Zone zone;
    zone.dir = path.string();
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

std::string describe_method(const MethodInfo& method) {
  return method.method + " (" + method.kind +
         (method.relative_uncertainty > 0 ? fmt::format(", ±{:.0f} %", method.relative_uncertainty * 100)
                                          : "") +
         ")";
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
  // In a VM: the VM's folder of its host's `carbonmeter vm-export`, CARBONMETER_SYSFS_ROOT pointing at
  // it, holds the zones beside the export's marker.
  const std::string marker_path = sysfs_root() + "/" + kHostExportMarkerFile;
  std::optional<HostExport> host_export;
  std::error_code ec;
  if (all.empty() && std::filesystem::exists(marker_path, ec)) {
    outcome.status.method = "host-export";
    auto info = read_host_export(marker_path);
    if (!info) {
      outcome.status.detail = info.error().message;
      outcome.status.fix =
          "point CARBONMETER_SYSFS_ROOT at this VM's folder of the host's `carbonmeter vm-export --dir` "
          "(docs/vm_export.md)";
      return outcome;
    }
    all = list_zones(sysfs_root(), true);
    if (all.empty()) {
      outcome.status.detail = "the host export of VM '" + info.value().vm_name + "' in " + sysfs_root() +
                              " holds no intel-rapl zone";
      outcome.status.fix = "check that `carbonmeter vm-export` runs on the host (docs/vm_export.md)";
      return outcome;
    }
    host_export = std::move(info).value();
  }
  if (all.empty()) {
    outcome.status.detail = "no intel-rapl zone under " + powercap_dir;
    outcome.status.fix =
        "on bare metal load the driver (`modprobe intel_rapl_common` or "
        "`intel_rapl_msr`); virtual machines and most containers have no RAPL: in a VM, "
        "`carbonmeter vm-export` on the host gives it its share (docs/vm_export.md)";
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
  if (host_export) {
    const HostExport& info = *host_export;
    const bool ram =
        std::any_of(chosen.begin(), chosen.end(), [](const Zone& z) { return z.domain == "dram"; });
    const std::string host_methods = "cpu " + describe_method(info.host[Component::cpu]) +
                                     (ram ? ", ram " + describe_method(info.host[Component::ram]) : "");
    outcome.status.detail = "reading the share of VM '" + info.vm_name + "' in its host's energy (" + detail +
                            ") in " + sysfs_root() + "; host: " + host_methods;
    outcome.notes.push_back(
        "host-export: energy is this VM's share of its host's (VM '" + info.vm_name + "'; host " +
        host_methods + "), given by `carbonmeter vm-export` on the host in proportion to the VM's CPU time" +
        (ram ? " and resident memory" : "") + " (docs/vm_export.md)");
    if (auto problem = host_export_problem(info, unix_now_s())) outcome.notes.push_back(*problem);
  }
  outcome.sensor = std::make_unique<RaplPowercapSensor>(std::move(chosen), std::move(host_export));
  return outcome;
}

}  // namespace carbonmeter
