// Follows a process tree (a root pid and its descendants) and reports its cumulative CPU time
// and resident memory, read from procfs.
//
// CPU time is counted per member as growth of utime + stime + cutime + cstime, so that children
// too short-lived to be seen still count once their parent reaps them. A member that goes away
// leaves a credit with its parent (or with the tracker, which reaps the measured command and
// orphans through add_reaped_cpu_s()): the time it had is already counted, so the same amount of
// the parent's cutime growth is not counted again.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "carbonmeter/result.hpp"
#include "core/text_file.hpp"

namespace carbonmeter {

struct ProcStatFields {
  pid_t pid = 0;
  pid_t ppid = 0;
  std::uint64_t cpu_ticks = 0;  // utime + stime + cutime + cstime
  std::uint64_t rss_pages = 0;
  std::uint64_t start_ticks = 0;  // tells a reused pid from the process we knew
};

Result<ProcStatFields> parse_pid_stat(std::string_view text);

struct ProcessTreeUsage {
  double cpu_s = 0.0;  // cumulative, never decreasing
  std::uint64_t rss_bytes = 0;
  int processes = 0;
};

class ProcessTree {
 public:
  // discovery_period_s: how often new descendants are looked for (children files every period,
  // a full scan of procfs every ten periods or when children files are missing).
  explicit ProcessTree(pid_t root, double discovery_period_s = 1.0);

  ProcessTreeUsage sample(double now_s);
  // A process of the tree reaped by the tracker: its rusage (own and waited-for children) in s.
  void add_reaped_cpu_s(double cpu_s);
  pid_t root() const { return root_; }

 private:
  struct Member {
    RereadableFile stat;
    pid_t ppid = 0;
    std::uint64_t start_ticks = 0;
    std::uint64_t last_cpu_ticks = 0;
    std::uint64_t rss_pages = 0;
    std::uint64_t credit_ticks = 0;  // departed children's counted time, not to count twice
  };
  void discover(bool full_scan);
  void discover_children_of(pid_t pid, std::vector<pid_t>& out);
  void full_scan(std::vector<pid_t>& out);
  void track(pid_t pid, bool count_past_time);
  void depart(pid_t pid);

  pid_t root_;
  double discovery_period_s_;
  double next_discovery_s_ = 0.0;
  int discoveries_ = 0;
  bool children_files_work_ = true;
  std::unordered_map<pid_t, Member> members_;
  bool started_ = false;
  std::uint64_t counted_ticks_ = 0;
  double reaped_cpu_s_ = 0.0;
  double reaper_credit_s_ = 0.0;  // departed members the tracker reaps itself
  long page_size_;
};

}  // namespace carbonmeter
