// monitor --per-cgroup: the machine's CPU and RAM energy shared among the containers running on
// it (every cgroup whose path names a container, docker/containerd/cri-o/podman/LXC, with its
// Kubernetes pod), by CPU time and resident memory, sample by sample. Containers that appear
// later are counted from when they are found; those that go away keep their totals (up to
// kMaxGone of them, the oldest dropped first).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "carbonmeter/measurement.hpp"
#include "core/cgroup_files.hpp"
#include "core/cgroup_labels.hpp"
#include "core/proc_stat.hpp"
#include "core/sample.hpp"

namespace carbonmeter {

struct CgroupEnergy {
  std::string path;  // as /proc/PID/cgroup shows it: "/system.slice/docker-….scope"
  CgroupLabels labels;
  EnergyJ energy_j;              // cpu and ram; gpu is not shared out per cgroup
  PerComponent<double> power_w;  // over the last sample
  double cpu_s = 0.0;
  bool gone = false;
};

class CgroupLedger {
 public:
  // Finds the cgroup hierarchies in procfs_root()/self/mountinfo and the containers in them now.
  static Result<std::unique_ptr<CgroupLedger>> open();
  // Shares the sample's machine energy; called after every sample (from the sampler's listener).
  void add(const Sample& sample);
  std::vector<CgroupEnergy> entries() const;
  std::string hierarchy() const { return root_; }

  static constexpr std::size_t kMaxGone = 1000;
  static constexpr double kRescanPeriodS = 1.0;

 private:
  struct Tracked {
    CgroupEnergy energy;
    std::unique_ptr<CgroupReader> reader;
    double last_cpu_s = 0.0;
    std::uint64_t rss_bytes = 0;
    std::chrono::steady_clock::time_point gone_at;
  };
  CgroupLedger() = default;
  void rescan();
  void walk(const std::string& folder, const std::string& relative, int depth);

  std::string root_;            // v2 mount, or v1 cpuacct mount
  std::string memory_root_;     // v1 memory mount ("" for v2)
  std::string hierarchy_root_;  // the mount's root inside the hierarchy ("/" unless in a namespace)
  bool v2_ = false;
  MachineStatReader machine_;
  MachineCpuTime last_machine_;
  double last_rescan_s_ = -1e9;
  std::map<std::string, Tracked> tracked_;  // by path
  std::vector<std::string> seen_in_scan_;
  mutable std::mutex mutex_;
};

}  // namespace carbonmeter
