#include "core/cgroup_ledger.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "core/roots.hpp"

namespace carbonmeter {
namespace {

constexpr int kMaxDepth = 12;

bool is_directory(const std::string& folder, const dirent& entry) {
  if (entry.d_type != DT_UNKNOWN) return entry.d_type == DT_DIR;
  struct stat info {};
  return ::lstat((folder + "/" + entry.d_name).c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

}  // namespace

Result<std::unique_ptr<CgroupLedger>> CgroupLedger::open() {
  auto mountinfo = read_text_file(procfs_root() + "/self/mountinfo");
  if (!mountinfo) return Error{"--per-cgroup: the cgroup mounts are unknown: " + mountinfo.error().message};
  const CgroupMounts mounts = parse_cgroup_mounts(mountinfo.value());
  std::unique_ptr<CgroupLedger> ledger(new CgroupLedger());
  // v1's cpuacct where it is mounted (v1 or hybrid: the controllers in use), else v2.
  if (!mounts.cpuacct.empty()) {
    ledger->root_ = mounts.cpuacct;
    ledger->hierarchy_root_ = mounts.cpuacct_root;
    ledger->memory_root_ = mounts.memory;
  } else if (!mounts.v2.empty()) {
    ledger->root_ = mounts.v2;
    ledger->hierarchy_root_ = mounts.v2_root;
    ledger->v2_ = true;
  } else {
    return Error{
        "--per-cgroup: no cgroup hierarchy with CPU accounting is mounted (cgroup v2, or v1 cpuacct)"};
  }
  auto machine = ledger->machine_.cpu_time();
  if (!machine) return Error{"--per-cgroup: " + machine.error().message};
  ledger->last_machine_ = machine.value();
  ledger->rescan();
  ledger->last_rescan_s_ = 0.0;
  return ledger;
}

void CgroupLedger::rescan() {
  seen_in_scan_.clear();
  walk(root_, "", 0);
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::string> gone;
  for (auto& [path, tracked] : tracked_) {
    if (tracked.energy.gone ||
        std::find(seen_in_scan_.begin(), seen_in_scan_.end(), path) != seen_in_scan_.end())
      continue;
    tracked.energy.gone = true;
    tracked.energy.power_w = PerComponent<double>{};
    tracked.gone_at = now;
  }
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::string>> gone_by_age;
  for (const auto& [path, tracked] : tracked_)
    if (tracked.energy.gone) gone_by_age.emplace_back(tracked.gone_at, path);
  if (gone_by_age.size() > kMaxGone) {
    std::sort(gone_by_age.begin(), gone_by_age.end());
    for (std::size_t i = 0; i < gone_by_age.size() - kMaxGone; ++i) tracked_.erase(gone_by_age[i].second);
  }
}

void CgroupLedger::walk(const std::string& folder, const std::string& relative, int depth) {
  if (depth > kMaxDepth) return;
  const std::string path = (hierarchy_root_ == "/" || hierarchy_root_.empty() ? "" : hierarchy_root_) +
                           (relative.empty() ? "/" : relative);
  const CgroupLabels labels = labels_of_cgroup(path);
  if (labels.is_container()) {
    seen_in_scan_.push_back(path);
    auto it = tracked_.find(path);
    if (it != tracked_.end() && !it->second.energy.gone) return;
    auto reader = CgroupReader::open(folder, v2_, memory_root_.empty() ? "" : memory_root_ + relative);
    if (!reader) return;  // gone between the listing and now
    auto usage = reader.value().read();
    if (!usage) return;
    Tracked tracked;
    tracked.energy.path = path;
    tracked.energy.labels = labels;
    tracked.last_cpu_s = usage.value().cpu_s;  // its past is not the monitor's
    tracked.rss_bytes = usage.value().rss_bytes.value_or(0);
    tracked.reader = std::make_unique<CgroupReader>(std::move(reader).value());
    if (it != tracked_.end()) {  // restarted under the same id (docker restart): its totals go on
      tracked.energy.energy_j = it->second.energy.energy_j;
      tracked.energy.cpu_s = it->second.energy.cpu_s;
    }
    tracked_[path] = std::move(tracked);
    return;  // nothing below a container is another container
  }
  DIR* dir = ::opendir(folder.c_str());
  if (!dir) return;
  std::vector<std::string> children;
  while (dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name != "." && name != ".." && is_directory(folder, *entry)) children.push_back(name);
  }
  ::closedir(dir);
  std::sort(children.begin(), children.end());
  for (const std::string& child : children) walk(folder + "/" + child, relative + "/" + child, depth + 1);
}

void CgroupLedger::add(const Sample& sample) {
  std::lock_guard lock(mutex_);
  if (sample.t_s - last_rescan_s_ >= kRescanPeriodS) {
    rescan();
    last_rescan_s_ = sample.t_s;
  }
  double busy_s = 0.0;
  if (auto machine = machine_.cpu_time()) {
    busy_s = std::max(0.0, machine.value().busy_s - last_machine_.busy_s);
    last_machine_ = machine.value();
  }
  double used_bytes = 0.0;
  if (auto memory = machine_.memory()) used_bytes = static_cast<double>(memory.value().used_bytes());

  struct Share {
    Tracked* tracked;
    double cpu_s;
  };
  std::vector<Share> shares;
  double cpu_sum_s = 0.0, rss_sum = 0.0;
  for (auto& [path, tracked] : tracked_) {
    if (tracked.energy.gone) continue;
    auto usage = tracked.reader->read();
    if (!usage) {  // removed since the last scan
      tracked.energy.gone = true;
      tracked.energy.power_w = PerComponent<double>{};
      tracked.gone_at = std::chrono::steady_clock::now();
      continue;
    }
    const double cpu_s = std::max(0.0, usage.value().cpu_s - tracked.last_cpu_s);
    tracked.last_cpu_s = std::max(tracked.last_cpu_s, usage.value().cpu_s);
    tracked.rss_bytes = usage.value().rss_bytes.value_or(0);
    shares.push_back({&tracked, cpu_s});
    cpu_sum_s += cpu_s;
    rss_sum += static_cast<double>(tracked.rss_bytes);
  }
  // CPU time read a moment after /proc/stat can exceed its busy time: never share out more than all.
  const double cpu_denominator = std::max(busy_s, cpu_sum_s);
  const double ram_denominator = std::max(used_bytes, rss_sum);
  const double dt = sample.dt_s > 0 ? sample.dt_s : 1.0;
  for (const Share& share : shares) {
    CgroupEnergy& energy = share.tracked->energy;
    EnergyJ added;
    added[Component::cpu] =
        cpu_denominator > 0 ? sample.machine_energy_j[Component::cpu] * share.cpu_s / cpu_denominator : 0.0;
    added[Component::ram] = ram_denominator > 0
                                ? sample.machine_energy_j[Component::ram] *
                                      static_cast<double>(share.tracked->rss_bytes) / ram_denominator
                                : 0.0;
    energy.energy_j += added;
    energy.cpu_s += share.cpu_s;
    for (Component c : kComponents) energy.power_w[c] = added[c] / dt;
  }
}

std::vector<CgroupEnergy> CgroupLedger::entries() const {
  std::lock_guard lock(mutex_);
  std::vector<CgroupEnergy> out;
  out.reserve(tracked_.size());
  for (const auto& [path, tracked] : tracked_) out.push_back(tracked.energy);
  return out;
}

}  // namespace carbonmeter
