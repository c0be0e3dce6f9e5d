// Reading a cgroup's CPU time, memory and members, in cgroup v1 (cpuacct, memory) or v2 (cpu.stat,
// memory.stat), and finding where the hierarchies are mounted. Used for the command's own cgroup
// (CommandCgroup), for --cgroup PATH and for monitor --per-cgroup.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "carbonmeter/result.hpp"
#include "core/text_file.hpp"

namespace carbonmeter {

struct CgroupMounts {
  std::string v2;       // mount point of the unified hierarchy
  std::string v2_root;  // the mount's root inside the hierarchy
  std::string cpuacct, cpuacct_root;
  std::string memory, memory_root;
  std::string cpuset, cpuset_root;
  std::string devices, devices_root;
};

// From /proc/self/mountinfo: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER".
CgroupMounts parse_cgroup_mounts(std::string_view mountinfo);
// From /proc/PID/cgroup: "0::/path" (v2), "N:cpu,cpuacct:/path" (v1). controller "" asks for the v2
// line. "" when there is no such line.
std::string cgroup_path_of(std::string_view proc_pid_cgroup, const std::string& controller);
// The folder of cgroup `path` in a hierarchy mounted at mount_point whose root is mount_root.
std::string cgroup_folder(const std::string& mount_point, const std::string& mount_root,
                          const std::string& path);
// The value of "key N" in a flat-keyed file (cpu.stat, memory.stat).
std::optional<std::uint64_t> cgroup_stat_field(std::string_view text, std::string_view key);

struct CgroupUsage {
  double cpu_s = 0.0;                      // cumulative, as the kernel counts it
  std::optional<std::uint64_t> rss_bytes;  // anonymous + file-mapped memory, when known
};

class CgroupReader {
 public:
  // cpu_folder: a v2 cgroup folder (cpu.stat), or a v1 cpuacct folder (cpuacct.usage).
  // memory_folder: the v1 memory folder; "" for v2 (memory.stat beside cpu.stat, when the
  // memory controller is on) or for none.
  static Result<CgroupReader> open(const std::string& cpu_folder, bool v2,
                                   const std::string& memory_folder = "");
  // The cgroup named by `path` as /proc/PID/cgroup shows it ("/system.slice/docker-1.scope"), in
  // the hierarchies mounted now (v1 cpuacct and memory where mounted, else v2).
  static Result<CgroupReader> open_path(const std::string& path, const CgroupMounts& mounts);

  Result<CgroupUsage> read();
  // The processes in it and in the cgroups below it.
  std::vector<pid_t> pids() const;
  // "cgroup v2 (cpu.stat, memory.stat)", "cgroup v1 (cpuacct, memory)", ...
  const std::string& description() const { return description_; }
  const std::string& cpu_folder() const { return cpu_folder_; }

 private:
  std::string cpu_folder_;
  RereadableFile cpu_file_;
  bool v2_ = false;
  std::optional<RereadableFile> memory_stat_;
  std::string description_;
};

}  // namespace carbonmeter
