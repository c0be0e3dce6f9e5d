#include "core/process_tree.hpp"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <optional>
#include <string>

#include "core/proc_stat.hpp"
#include "core/roots.hpp"

namespace carbonmeter {
namespace {

std::string pid_path(pid_t pid, const char* leaf) { return procfs_root() + "/" + std::to_string(pid) + leaf; }

}  // namespace

std::uint64_t resident_bytes_of(const std::vector<pid_t>& pids) {
  static const auto page_size = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  std::uint64_t total = 0;
  for (pid_t pid : pids) {
    auto statm = read_text_file(pid_path(pid, "/statm"));  // "size resident shared ..." in pages
    if (!statm) continue;
    std::string_view text = statm.value();
    text.remove_prefix(std::min(text.size(), text.find(' ') + 1));
    if (auto pages = parse_u64(text.substr(0, text.find(' ')))) total += *pages * page_size;
  }
  return total;
}

Result<ProcStatFields> parse_pid_stat(std::string_view text) {
  // "pid (comm) state ppid ..." where comm may hold spaces and parentheses: split at the last ')'.
  auto open = text.find('(');
  auto close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open)
    return Error{"malformed /proc/PID/stat"};
  ProcStatFields out;
  auto head = trim(text.substr(0, open));
  std::from_chars(head.data(), head.data() + head.size(), out.pid);
  std::string_view rest = text.substr(close + 1);
  // Fields after comm, numbered from 3 (state) as in proc(5).
  std::uint64_t utime = 0, stime = 0, cutime = 0, cstime = 0;
  int field = 3;
  std::size_t pos = 0;
  while (pos < rest.size() && field <= 24) {
    while (pos < rest.size() && rest[pos] == ' ') ++pos;
    std::size_t end = rest.find(' ', pos);
    if (end == std::string_view::npos) end = rest.size();
    std::string_view token = rest.substr(pos, end - pos);
    std::int64_t value = 0;
    std::from_chars(token.data(), token.data() + token.size(), value);
    const auto positive = static_cast<std::uint64_t>(value < 0 ? 0 : value);
    switch (field) {
      case 3:
        out.exited = token == "Z" || token == "X";
        break;
      case 4:
        out.ppid = static_cast<pid_t>(value);
        break;
      case 14:
        utime = positive;
        break;
      case 15:
        stime = positive;
        break;
      case 16:
        cutime = positive;
        break;
      case 17:
        cstime = positive;
        break;
      case 20:
        out.num_threads = value;
        break;
      case 22:
        out.start_ticks = positive;
        break;
      case 24:
        out.rss_pages = positive;
        break;
      default:
        break;
    }
    ++field;
    pos = end;
  }
  if (field <= 24) return Error{"truncated /proc/PID/stat"};
  out.cpu_ticks = utime + stime + cutime + cstime;
  return out;
}

ProcessTree::ProcessTree(pid_t root, double discovery_period_s, bool tracker_reaps)
    : root_(root),
      tracker_pid_(::getpid()),
      discovery_period_s_(discovery_period_s),
      tracker_reaps_(tracker_reaps),
      page_size_(::sysconf(_SC_PAGESIZE)) {
  children_files_work_ = ::access(pid_path(root, "/task").c_str(), R_OK) == 0;
}

double ProcessTree::ticks_to_s(std::uint64_t ticks) const {
  return static_cast<double>(ticks) / clock_ticks_per_second();
}

Status ProcessTree::start() {
  if (!track(root_, 0, false))
    return Error{"process " + std::to_string(root_) + " cannot be read in " + procfs_root() +
                 " (has it exited? is procfs mounted?)"};
  // Descendants that exist now (their past is not the run's). A command the tracker has just
  // forked and holds before exec has none: the costly full scan of procfs is skipped then.
  if (!tracker_reaps_) {
    discover(true, false);
    return Ok{};
  }
  const char* no_cgroup = std::getenv("CARBONMETER_NO_CGROUP");
  if (no_cgroup && *no_cgroup && std::string(no_cgroup) != "0") {
    no_cgroup_reason_ = "CARBONMETER_NO_CGROUP is set";
    return Ok{};
  }
  auto cgroup = CommandCgroup::create_for(root_);
  if (!cgroup) {
    no_cgroup_reason_ = cgroup.error().message;
    return Ok{};
  }
  auto usage = cgroup.value().read();
  if (!usage) {
    no_cgroup_reason_ = usage.error().message;
    return Ok{};
  }
  cgroup_start_cpu_s_ = usage.value().cpu_s;
  cgroup_.emplace(std::move(cgroup).value());
  return Ok{};
}

std::string ProcessTree::source() const {
  if (cgroup_) return cgroup_->description();
  return no_cgroup_reason_.empty() ? "/proc" : "/proc (no cgroup: " + no_cgroup_reason_ + ")";
}

bool ProcessTree::sample_cgroup(ProcessTreeUsage& usage, bool read_pids) {
  auto read = cgroup_->read();
  if (!read) {  // the cgroup went away: read /proc from now on, counting on from the cgroup's total
    no_cgroup_reason_ = read.error().message;
    cgroup_.reset();
    departed_cpu_s_ = high_water_cpu_s_;
    for (auto& [pid, member] : members_)
      if (auto fields = read_member(member)) member.offset_ticks = fields.value().cpu_ticks;
    order_members_by_depth();  // order_ held the cgroup's list, which need not be the members
    discover(true, false);
    return false;
  }
  if (read_pids || (!read.value().rss_bytes)) order_ = cgroup_->pids();
  usage.processes = static_cast<int>(order_.size());
  usage.cpu_s = std::max(high_water_cpu_s_, read.value().cpu_s - cgroup_start_cpu_s_);
  high_water_cpu_s_ = usage.cpu_s;
  if (read.value().rss_bytes) {
    usage.rss_bytes = *read.value().rss_bytes;
  } else {  // cgroup v2 without the memory controller: resident memory from each process
    usage.rss_bytes = resident_bytes_of(order_);
  }
  return true;
}

Result<ProcStatFields> ProcessTree::read_member(Member& member) {
  if (member.keep_open) {
    auto text = member.stat.read();
    if (!text) return text.error();
    return parse_pid_stat(text.value());
  }
  auto text = read_text_file(member.stat.path());
  if (!text) return text.error();
  return parse_pid_stat(text.value());
}

// A single-threaded process that has not run since its stat was read has the same CPU time, and
// the same children's time (reaping a child is running; so is starting a thread). Its schedstat,
// whose first field is the thread's run time in ns, costs a quarter of a stat read.
bool ProcessTree::has_not_run_since_last_read(Member& member) {
  if (!member.keep_open || !member.single_threaded || !member.schedstat_works) return false;
  auto text = member.schedstat.read();
  auto runtime_ns = text ? parse_u64(text.value().substr(0, text.value().find(' '))) : std::nullopt;
  // Gone, no schedstat (CONFIG_SCHED_INFO off, a fake procfs), or "0 0 0" (sched_info off at boot):
  // stat is read every time from now on.
  if (!runtime_ns || *runtime_ns == 0) {
    member.schedstat_works = false;
    return false;
  }
  // Recorded before the stat read that may follow: time it runs in between shows at the next check.
  const bool ran = *runtime_ns != member.runtime_ns;
  member.runtime_ns = *runtime_ns;
  return !ran;
}

// Whether the member's parent is where it was at the last read. A parent that left the tree or exited
// (its children are re-parented at once, though it stays readable as a zombie) may have handed the
// member to another parent without the member running: its ppid must be read again.
bool ProcessTree::parent_still_there(pid_t pid, const Member& member, const std::vector<pid_t>& gone) const {
  if (pid == root_ || (tracker_reaps_ && member.ppid == tracker_pid_)) return true;
  auto parent = members_.find(member.ppid);
  return parent != members_.end() && !parent->second.exited &&
         std::find(gone.begin(), gone.end(), member.ppid) == gone.end();
}

// What a stat read tells of a member (its start time, which tells a reused pid, is kept from the first).
void ProcessTree::remember(Member& member, const ProcStatFields& fields) {
  member.ppid = fields.ppid;
  member.cpu_ticks = std::max(member.cpu_ticks, fields.cpu_ticks);
  member.rss_pages = fields.rss_pages;
  member.single_threaded = fields.num_threads == 1;
  member.exited = fields.exited;
}

void ProcessTree::order_members_by_depth() {
  order_.clear();
  for (const auto& [pid, member] : members_) order_.push_back(pid);
  std::stable_sort(order_.begin(), order_.end(),
                   [&](pid_t a, pid_t b) { return members_.at(a).depth < members_.at(b).depth; });
}

void ProcessTree::add_reaped(pid_t pid, double cpu_s) {
  if (cgroup_) return;  // the cgroup keeps the time of its exited members
  // What depart() counted from its last reading is replaced by the full rusage, less the time it
  // had before the run.
  if (auto it = departed_counted_s_.find(pid); it != departed_counted_s_.end()) {
    departed_cpu_s_ -= it->second;
    departed_counted_s_.erase(it);
  }
  double offset_s = 0.0;
  if (auto it = awaiting_rusage_offset_s_.find(pid); it != awaiting_rusage_offset_s_.end()) {
    offset_s = it->second;
    awaiting_rusage_offset_s_.erase(it);
  } else if (auto member = members_.find(pid); member != members_.end()) {
    offset_s = ticks_to_s(member->second.offset_ticks);
    if (member->second.keep_open) --open_files_;
    members_.erase(member);
    order_.erase(std::remove(order_.begin(), order_.end(), pid), order_.end());
  }
  departed_cpu_s_ += std::max(0.0, cpu_s - offset_s);
}

bool ProcessTree::track(pid_t pid, int depth, bool count_past_time) {
  if (members_.count(pid)) return true;
  Member member{RereadableFile(pid_path(pid, "/stat"), 1024),
                RereadableFile(pid_path(pid, "/schedstat"), 128)};
  member.keep_open = open_files_ < kMaxOpenFiles;
  auto fields = read_member(member);
  if (!fields) return false;  // already gone
  if (member.keep_open) ++open_files_;
  remember(member, fields.value());
  member.depth = depth;
  member.start_ticks = fields.value().start_ticks;
  // Time a process had before the tracker started is not the run's; a process that appears
  // later was born during the run, so all of its time is.
  member.offset_ticks = count_past_time ? 0 : fields.value().cpu_ticks;
  members_.emplace(pid, std::move(member));
  auto position = std::find_if(order_.begin(), order_.end(),
                               [&](pid_t other) { return members_.at(other).depth > depth; });
  order_.insert(position, pid);
  return true;
}

void ProcessTree::depart(pid_t pid) {
  auto it = members_.find(pid);
  if (it == members_.end()) return;
  Member& member = it->second;
  const double counted_s = ticks_to_s(member.cpu_ticks - std::min(member.cpu_ticks, member.offset_ticks));
  if (auto parent = members_.find(member.ppid); parent != members_.end()) {
    // Reaped by a member: its whole time moves into that parent's cutime, pre-run time included,
    // which the parent must not count.
    parent->second.offset_ticks += member.offset_ticks;
  } else if (tracker_reaps_ && member.ppid == ::getpid()) {
    awaiting_rusage_offset_s_[pid] = ticks_to_s(member.offset_ticks);  // add_reaped follows
  } else {
    departed_cpu_s_ += counted_s;  // reaped elsewhere: its last reading is all we can know
    departed_counted_s_[pid] = counted_s;
  }
  if (member.keep_open) --open_files_;
  members_.erase(it);
  order_.erase(std::remove(order_.begin(), order_.end(), pid), order_.end());
}

void ProcessTree::discover_children_of(pid_t pid, std::vector<pid_t>& out) {
  // The main thread's children file; children forked by other threads are found by full scans.
  auto text = read_text_file(pid_path(pid, "/task/") + std::to_string(pid) + "/children");
  if (!text) {
    if (members_.count(pid)) children_files_work_ = false;
    return;
  }
  std::string_view rest = text.value();
  while (!rest.empty()) {
    auto end = rest.find(' ');
    std::string_view token = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
    pid_t child = 0;
    auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), child);
    if (ec == std::errc() && child > 0) out.push_back(child);
  }
}

void ProcessTree::full_scan(std::vector<Found>& out) {
  DIR* dir = ::opendir(procfs_root().c_str());
  if (!dir) return;
  std::vector<Found> all;
  while (dirent* entry = ::readdir(dir)) {
    pid_t pid = 0;
    std::string_view name(entry->d_name);
    auto [ptr, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (ec != std::errc() || ptr != name.data() + name.size() || pid <= 0) continue;
    auto text = read_text_file(pid_path(pid, "/stat"));
    if (!text) continue;
    auto fields = parse_pid_stat(text.value());
    if (fields) all.push_back({pid, fields.value().ppid});
  }
  ::closedir(dir);
  // Orphans re-parented to the tracker (a subreaper) can only come from the tree.
  const pid_t self = tracker_reaps_ ? ::getpid() : -1;
  auto found = [&](pid_t pid) {
    return pid == self || members_.count(pid) ||
           std::any_of(out.begin(), out.end(), [pid](const Found& f) { return f.pid == pid; });
  };
  // Repeat until no new descendant appears (parents may be listed after their children).
  for (bool grew = true; grew;) {
    grew = false;
    for (const Found& candidate : all) {
      if (!found(candidate.pid) && found(candidate.parent)) {
        out.push_back(candidate);
        grew = true;
      }
    }
  }
}

void ProcessTree::discover(bool full, bool born_during_run) {
  std::vector<Found> found;
  if (full || !children_files_work_) {
    full_scan(found);
  } else {
    std::vector<pid_t> frontier(order_.begin(), order_.end());
    if (tracker_reaps_) frontier.push_back(::getpid());  // orphans re-parented to the subreaper
    while (!frontier.empty()) {
      pid_t parent = frontier.back();
      frontier.pop_back();
      std::vector<pid_t> children;
      discover_children_of(parent, children);
      for (pid_t child : children) {
        bool known = members_.count(child) || std::any_of(found.begin(), found.end(),
                                                          [child](const Found& f) { return f.pid == child; });
        if (!known) {
          found.push_back({child, parent});
          frontier.push_back(child);
        }
      }
    }
  }
  for (const Found& process : found) {  // parents come before their children
    auto parent = members_.find(process.parent);
    track(process.pid, parent == members_.end() ? 1 : parent->second.depth + 1, born_during_run);
  }
}

ProcessTreeUsage ProcessTree::sample(double now_s, bool force_discovery) {
  if (cgroup_) {
    ProcessTreeUsage usage;
    if (sample_cgroup(usage, wants_pids_ || force_discovery)) return usage;
  }
  if (force_discovery || now_s >= next_discovery_s_) {
    // Children forked by threads other than the main one are found by a full scan, every 30 discoveries.
    discover(++discoveries_ % 30 == 0, true);
    next_discovery_s_ = now_s + discovery_period_s_;
  }

  ProcessTreeUsage usage;
  std::vector<pid_t> gone;
  std::uint64_t live_ticks = 0;
  const std::size_t members = order_.size();
  std::size_t idle_rereads = 0;
  if (last_sample_s_ >= 0.0 && members > 0) {
    idle_rereads_owed_ += static_cast<double>(members) *
                          std::min(std::max(0.0, now_s - last_sample_s_), kIdleRereadPeriod_s) /
                          kIdleRereadPeriod_s;
    idle_rereads = std::min(members, static_cast<std::size_t>(idle_rereads_owed_));
    idle_rereads_owed_ =
        std::min(idle_rereads_owed_ - static_cast<double>(idle_rereads), static_cast<double>(members));
  }
  last_sample_s_ = now_s;
  for (std::size_t i = 0; i < members; ++i) {  // parents first
    const pid_t pid = order_[i];
    Member& member = members_.at(pid);
    const bool reread_in_turn = (i + members - idle_reread_cursor_ % members) % members < idle_rereads;
    // The last sample reads everything: a task running on a tickless CPU can show a stale schedstat.
    if (force_discovery || reread_in_turn || !parent_still_there(pid, member, gone) ||
        !has_not_run_since_last_read(member)) {
      auto fields = read_member(member);
      if (!fields || fields.value().start_ticks != member.start_ticks) {
        gone.push_back(pid);
        continue;
      }
      remember(member, fields.value());
    }
    live_ticks += member.cpu_ticks - std::min(member.cpu_ticks, member.offset_ticks);
    usage.rss_bytes += member.rss_pages * static_cast<std::uint64_t>(page_size_);
    ++usage.processes;
  }
  if (members > 0) idle_reread_cursor_ = (idle_reread_cursor_ % members + idle_rereads) % members;
  for (pid_t pid : gone) depart(pid);
  const double cpu_s = ticks_to_s(live_ticks) + departed_cpu_s_;
  high_water_cpu_s_ = std::max(high_water_cpu_s_, cpu_s);
  usage.cpu_s = high_water_cpu_s_;
  return usage;
}

}  // namespace carbonmeter
