// A Slurm job step's allocation on this node, from Slurm's environment and the cgroup Slurm made
// for it: recorded in the run report so that a run says which share of a shared node was its own.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace carbonmeter {

struct SlurmAllocation {
  std::string step;         // SLURM_STEP_ID, or "batch" in the batch script; "" when unknown
  std::string nodelist;     // SLURM_JOB_NODELIST
  std::string cpus;         // "0-3,8": the cpuset of the job's cgroup on this node
  int cpu_count = 0;        // CPUs allocated on this node
  std::string cpus_source;  // "cgroup cpuset", "SLURM_CPUS_ON_NODE" or ""
  std::string gpus;         // SLURM_STEP_GPUS, else SLURM_JOB_GPUS (Slurm's indices); "" for none
  // ConstrainDevices on cgroup v1: the NVIDIA devices the job's devices cgroup allows, by minor
  // number (/dev/nvidiaN), e.g. "0,2"; "" when unconstrained or unknown.
  std::string gpu_devices;
  std::string cgroup;  // the job's cgroup, "/slurm_node/uid_0/job_7", when Slurm made one
};

// The NVIDIA GPU minor numbers (major 195, minor below 255) a cgroup v1 devices.list allows, comma
// separated; "" when the list allows every device ("a *:* rwm") or none of those.
std::string nvidia_minors_allowed(std::string_view devices_list);

// The number of CPUs in a cpuset list ("0-3,8" → 5); nullopt when it is not one.
std::optional<int> cpuset_size(const std::string& list);

// env: reads a variable (nullopt when unset). The cgroup comes from procfs_root()/self/cgroup
// and the mounts in procfs_root()/self/mountinfo.
SlurmAllocation read_slurm_allocation(
    const std::function<std::optional<std::string>(const std::string&)>& env);

}  // namespace carbonmeter
