// What the sampler gives a share of the machine's energy to: a process tree (ProcessTree) or an
// existing cgroup (CgroupScope). Both report cumulative CPU time and resident memory.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "carbonmeter/result.hpp"

namespace carbonmeter {

struct ProcessTreeUsage {
  double cpu_s = 0.0;  // cumulative since start(), never decreasing
  std::uint64_t rss_bytes = 0;
  int processes = 0;
};

class UsageSource {
 public:
  virtual ~UsageSource() = default;
  // Takes the baseline; fails when the tree's root or the cgroup cannot be read.
  virtual Status start() = 0;
  // force_discovery: look for new members now, e.g. for the last sample.
  virtual ProcessTreeUsage sample(double now_s, bool force_discovery = false) = 0;
  // The live members at the last sample.
  virtual const std::vector<pid_t>& pids() const = 0;
  // Whether pids() must be current after every sample (sensors with per-process shares need it).
  virtual void set_wants_pids(bool wants) = 0;
  // A member reaped by the tracker, with its rusage in s (process trees only).
  virtual void add_reaped(pid_t /*pid*/, double /*cpu_s*/) {}
  // How the usage is read: "/proc", "cgroup v2 (cpu.stat, memory.stat) /sys/fs/cgroup/...", ...
  virtual std::string source() const = 0;
  // Problems met since the last call (a cgroup that went away), for the run's notes.
  virtual std::vector<std::string> take_notes() { return {}; }
};

}  // namespace carbonmeter
