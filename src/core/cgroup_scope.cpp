#include "core/cgroup_scope.hpp"

#include <unistd.h>

#include <algorithm>

#include "core/process_tree.hpp"
#include "core/roots.hpp"

namespace carbonmeter {

Result<CgroupReader> open_own_cgroup() {
  auto mountinfo = read_text_file(procfs_root() + "/self/mountinfo");
  auto cgroups = read_text_file(procfs_root() + "/self/cgroup");
  if (!mountinfo || !cgroups)
    return Error{"own cgroup unknown: " + (mountinfo ? cgroups : mountinfo).error().message};
  const CgroupMounts mounts = parse_cgroup_mounts(mountinfo.value());
  // Where v1's cpuacct is mounted (v1 or hybrid), it is where the CPU time is accounted.
  if (!mounts.cpuacct.empty())
    return CgroupReader::open(
        cgroup_folder(mounts.cpuacct, mounts.cpuacct_root, cgroup_path_of(cgroups.value(), "cpuacct")), false,
        mounts.memory.empty()
            ? ""
            : cgroup_folder(mounts.memory, mounts.memory_root, cgroup_path_of(cgroups.value(), "memory")));
  if (mounts.v2.empty()) return Error{"no cgroup hierarchy with CPU accounting is mounted"};
  return CgroupReader::open(cgroup_folder(mounts.v2, mounts.v2_root, cgroup_path_of(cgroups.value(), "")),
                            true);
}

Result<CgroupReader> open_cgroup(const std::string& path) {
  if (path.empty()) return Error{"--cgroup needs a path"};
  if (path == "self") return open_own_cgroup();
  if (::access((path + "/cpu.stat").c_str(), R_OK) == 0) return CgroupReader::open(path, true);
  if (::access((path + "/cpuacct.usage").c_str(), R_OK) == 0) return CgroupReader::open(path, false);
  auto mountinfo = read_text_file(procfs_root() + "/self/mountinfo");
  if (!mountinfo)
    return Error{path +
                 " is not a cgroup folder (no cpu.stat or cpuacct.usage in it), and the cgroup mounts are "
                 "unknown: " +
                 mountinfo.error().message};
  return CgroupReader::open_path(path, parse_cgroup_mounts(mountinfo.value()));
}

Status CgroupScope::start() {
  auto usage = reader_.read();
  if (!usage) return Error{"cannot read the cgroup: " + usage.error().message};
  start_cpu_s_ = usage.value().cpu_s;
  pids_ = reader_.pids();
  return Ok{};
}

ProcessTreeUsage CgroupScope::sample(double /*now_s*/, bool force_discovery) {
  auto usage = reader_.read();
  if (!usage) {  // removed (the container stopped): nothing more runs in it
    if (!read_failed_)
      notes_.push_back("cgroup " + reader_.cpu_folder() + " can no longer be read (" + usage.error().message +
                       "): its CPU time and memory stay at the last reading");
    read_failed_ = true;
    last_.rss_bytes = 0;
    last_.processes = 0;
    pids_.clear();
    return last_;
  }
  const bool rss_known = usage.value().rss_bytes.has_value();
  if (wants_pids_ || force_discovery || !rss_known) pids_ = reader_.pids();
  last_.cpu_s = std::max(last_.cpu_s, usage.value().cpu_s - start_cpu_s_);
  last_.rss_bytes = rss_known ? *usage.value().rss_bytes : resident_bytes_of(pids_);
  last_.processes = static_cast<int>(pids_.size());
  return last_;
}

}  // namespace carbonmeter
