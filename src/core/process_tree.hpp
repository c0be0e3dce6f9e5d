// Follows a process tree (a root pid and its descendants) and reports its cumulative CPU time
// and resident memory, read from procfs.
//
// CPU time: each live member counts utime + stime + cutime + cstime (the last two hold the
// children it has reaped, however short-lived). When a member is reaped by another member its
// time moves into that parent's cutime, so the sum stays whole; a member reaped outside the tree
// keeps its last reading, and one reaped by the tracker itself (the measured command, orphans of a
// subreaper) is counted from its rusage (add_reaped). Time a process had before the tracker
// started is not counted, wherever it moves. A single-threaded member that has not run since its
// last read (its schedstat run time is the same) is not reread, but for one reread in turn every
// kIdleRereadPeriod_s. Members are read parents first, so a child reaped
// between two reads can only make the sum dip for one sample, never count twice; the reported
// total never goes back.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "carbonmeter/result.hpp"
#include "core/command_cgroup.hpp"
#include "core/text_file.hpp"
#include "core/usage_source.hpp"

namespace carbonmeter {

struct ProcStatFields {
  pid_t pid = 0;
  pid_t ppid = 0;
  std::uint64_t cpu_ticks = 0;  // utime + stime + cutime + cstime
  std::uint64_t rss_pages = 0;
  std::uint64_t start_ticks = 0;  // tells a reused pid from the process we knew
  std::int64_t num_threads = 0;
  bool exited = false;  // state Z (zombie) or X: not reaped yet, or being reaped
};

Result<ProcStatFields> parse_pid_stat(std::string_view text);
// The resident memory of these processes (/proc/PID/statm); those gone are skipped.
std::uint64_t resident_bytes_of(const std::vector<pid_t>& pids);

class ProcessTree final : public UsageSource {
 public:
  // discovery_period_s: how often new descendants are looked for (children files every period,
  // a full scan of procfs every thirty periods or when children files are missing).
  // tracker_reaps: the caller reaps the root (and orphans) and reports them through add_reaped().
  // It also means the root is a command held before exec: it is then moved into a cgroup of its
  // own where that is allowed (CommandCgroup), and the tree is read from there instead of /proc
  // (CARBONMETER_NO_CGROUP=1 turns that off).
  ProcessTree(pid_t root, double discovery_period_s = 1.0, bool tracker_reaps = false);

  // Fails when the root cannot be read (no such process, or procfs unreadable).
  Status start() override;
  // force_discovery: look for new descendants now, e.g. for the last sample.
  ProcessTreeUsage sample(double now_s, bool force_discovery = false) override;
  // A process of the tree reaped by the tracker: its rusage (own and waited-for children) in s.
  void add_reaped(pid_t pid, double cpu_s) override;
  pid_t root() const { return root_; }
  // The live members at the last sample, parents first.
  const std::vector<pid_t>& pids() const override { return order_; }
  // Whether pids() must be current after every sample (sensors with per-process shares need it);
  // otherwise a cgroup's member list is read only at forced discoveries (the last sample).
  void set_wants_pids(bool wants) override { wants_pids_ = wants; }
  // How the tree is read: "cgroup v1 (cpuacct, memory)", ... or "/proc" (and why no cgroup).
  std::string source() const override;

 private:
  static constexpr std::size_t kMaxOpenFiles = 64;  // members whose files stay open (two each)
  static constexpr std::uint64_t kRuntimeUnknown = ~std::uint64_t{0};
  // A member that has not run is still reread once in this period, for its resident memory (which
  // reclaim can shrink while it sleeps) and its parent (re-parenting does not make it run); in
  // turn, a few members a sample, so that no one sample rereads them all.
  static constexpr double kIdleRereadPeriod_s = 5.0;

  struct Member {
    RereadableFile stat;       // kept open for the first kMaxOpenFiles members only
    RereadableFile schedstat;  // opened for single-threaded members kept open
    bool keep_open = false;
    bool single_threaded = false;
    bool schedstat_works = true;  // false after a failed read: no such file, or a run time of 0
    bool exited = false;          // a zombie: its children have been re-parented already
    std::uint64_t runtime_ns = kRuntimeUnknown;  // schedstat's, read before the last stat read
    std::uint64_t rss_pages = 0;                 // at the last read
    pid_t ppid = 0;
    int depth = 0;
    std::uint64_t start_ticks = 0;
    std::uint64_t cpu_ticks = 0;     // at the last read
    std::uint64_t offset_ticks = 0;  // time before the tracker started, here or in reaped children
  };
  struct Found {
    pid_t pid;
    pid_t parent;
  };

  Result<ProcStatFields> read_member(Member& member);
  bool has_not_run_since_last_read(Member& member);
  bool parent_still_there(pid_t pid, const Member& member, const std::vector<pid_t>& gone) const;
  static void remember(Member& member, const ProcStatFields& fields);
  void order_members_by_depth();
  bool sample_cgroup(ProcessTreeUsage& usage, bool read_pids);
  void discover(bool full_scan, bool born_during_run);
  void discover_children_of(pid_t pid, std::vector<pid_t>& out);
  void full_scan(std::vector<Found>& out);
  bool track(pid_t pid, int depth, bool count_past_time);
  void depart(pid_t pid);
  double ticks_to_s(std::uint64_t ticks) const;

  pid_t root_;
  pid_t tracker_pid_;  // this process (getpid() is a system call: not once per member and sample)
  double discovery_period_s_;
  bool tracker_reaps_;
  double next_discovery_s_ = 0.0;
  int discoveries_ = 0;
  bool children_files_work_ = true;
  std::unordered_map<pid_t, Member> members_;
  std::vector<pid_t> order_;  // members, parents before children
  std::size_t open_files_ = 0;
  double departed_cpu_s_ = 0.0;  // members gone from the tree, at their last reading or rusage
  std::unordered_map<pid_t, double> departed_counted_s_;        // what depart() added, per pid
  std::unordered_map<pid_t, double> awaiting_rusage_offset_s_;  // tracker-reaped: offset to remove
  double high_water_cpu_s_ = 0.0;
  double last_sample_s_ = -1.0;
  double idle_rereads_owed_ = 0.0;  // members to reread in turn, accrued at kIdleRereadPeriod_s each
  std::size_t idle_reread_cursor_ = 0;
  long page_size_;
  bool wants_pids_ = true;
  std::optional<CommandCgroup> cgroup_;
  double cgroup_start_cpu_s_ = 0.0;
  std::string no_cgroup_reason_;
};

}  // namespace carbonmeter
