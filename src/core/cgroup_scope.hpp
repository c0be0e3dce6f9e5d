// --cgroup PATH: an existing cgroup (a container, a pod, a Slurm job) as what the machine's energy
// is shared with, by its CPU time and resident memory, instead of a process tree.
#pragma once

#include <optional>

#include "core/cgroup_files.hpp"
#include "core/usage_source.hpp"

namespace carbonmeter {

// A cgroup folder ("/sys/fs/cgroup/system.slice/docker-1.scope"), or a cgroup path as
// /proc/PID/cgroup shows it ("/system.slice/docker-1.scope", "/slurm/uid_0/job_7"), looked up in
// the hierarchies mounted here (procfs_root()/self/mountinfo); "self": carbonmeter's own cgroup
// (inside a container with its own cgroup namespace, the container's).
Result<CgroupReader> open_cgroup(const std::string& path);
Result<CgroupReader> open_own_cgroup();

class CgroupScope final : public UsageSource {
 public:
  explicit CgroupScope(CgroupReader reader) : reader_(std::move(reader)) {}
  Status start() override;
  ProcessTreeUsage sample(double now_s, bool force_discovery = false) override;
  const std::vector<pid_t>& pids() const override { return pids_; }
  void set_wants_pids(bool wants) override { wants_pids_ = wants; }
  std::string source() const override { return reader_.description() + " " + reader_.cpu_folder(); }
  std::vector<std::string> take_notes() override { return std::exchange(notes_, {}); }

 private:
  CgroupReader reader_;
  double start_cpu_s_ = 0.0;
  ProcessTreeUsage last_;
  std::vector<pid_t> pids_;
  bool wants_pids_ = false;
  bool read_failed_ = false;
  std::vector<std::string> notes_;
};

}  // namespace carbonmeter
