#include "core/process_tree.hpp"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <string>

#include "core/proc_stat.hpp"
#include "core/roots.hpp"

namespace carbonmeter {
namespace {

std::string pid_path(pid_t pid, const char* leaf) {
  return procfs_root() + "/" + std::to_string(pid) + leaf;
}

}  // namespace

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
      case 4: out.ppid = static_cast<pid_t>(value); break;
      case 14: utime = positive; break;
      case 15: stime = positive; break;
      case 16: cutime = positive; break;
      case 17: cstime = positive; break;
      case 22: out.start_ticks = positive; break;
      case 24: out.rss_pages = positive; break;
      default: break;
    }
    ++field;
    pos = end;
  }
  if (field <= 24) return Error{"truncated /proc/PID/stat"};
  out.cpu_ticks = utime + stime + cutime + cstime;
  return out;
}

ProcessTree::ProcessTree(pid_t root, double discovery_period_s)
    : root_(root), discovery_period_s_(discovery_period_s), page_size_(::sysconf(_SC_PAGESIZE)) {
  children_files_work_ = ::access(pid_path(root, "/task").c_str(), R_OK) == 0;
}

void ProcessTree::add_reaped(pid_t pid, double cpu_s) {
  // Its last reading, if depart() counted one, is replaced by the full rusage.
  if (auto it = departed_counted_s_.find(pid); it != departed_counted_s_.end()) {
    departed_cpu_s_ -= it->second;
    departed_counted_s_.erase(it);
  }
  departed_cpu_s_ += cpu_s;
  if (auto it = members_.find(pid); it != members_.end()) {
    departed_cpu_s_ -= static_cast<double>(it->second.offset_ticks) / clock_ticks_per_second();
    members_.erase(it);
    order_.erase(std::remove(order_.begin(), order_.end(), pid), order_.end());
  }
}

void ProcessTree::track(pid_t pid, int depth, bool count_past_time) {
  if (members_.count(pid)) return;
  Member member{RereadableFile(pid_path(pid, "/stat"))};
  auto text = member.stat.read();
  if (!text) return;  // already gone
  auto fields = parse_pid_stat(text.value());
  if (!fields) return;
  member.ppid = fields.value().ppid;
  member.depth = depth;
  member.start_ticks = fields.value().start_ticks;
  member.cpu_ticks = fields.value().cpu_ticks;
  // Time a process had before the tracker started is not the run's; a process that appears
  // later was born during the run, so all of its time is.
  member.offset_ticks = count_past_time ? 0 : fields.value().cpu_ticks;
  members_.emplace(pid, std::move(member));
  auto position = std::find_if(order_.begin(), order_.end(), [&](pid_t other) { return members_.at(other).depth > depth; });
  order_.insert(position, pid);
}

void ProcessTree::depart(pid_t pid) {
  auto it = members_.find(pid);
  if (it == members_.end()) return;
  const Member& member = it->second;
  const double counted_s = static_cast<double>(member.cpu_ticks - std::min(member.cpu_ticks, member.offset_ticks)) /
                           clock_ticks_per_second();
  // Reaped by a member: its time is in that parent's cutime now. Reaped by the tracker: add_reaped
  // brings its rusage. Otherwise its last reading is all that can be known.
  const bool parent_tracked = members_.count(member.ppid) > 0;
  const bool tracker_reaps = member.ppid == ::getpid();
  if (!parent_tracked && !tracker_reaps) {
    departed_cpu_s_ += counted_s;
    departed_counted_s_[pid] = counted_s;
  }
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
  auto found = [&](pid_t pid) {
    return members_.count(pid) ||
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

void ProcessTree::discover(bool full) {
  std::vector<Found> found;
  if (full || !children_files_work_) {
    full_scan(found);
  } else {
    std::vector<pid_t> frontier(order_.begin(), order_.end());
    while (!frontier.empty()) {
      pid_t parent = frontier.back();
      frontier.pop_back();
      std::vector<pid_t> children;
      discover_children_of(parent, children);
      for (pid_t child : children) {
        bool known = members_.count(child) ||
                     std::any_of(found.begin(), found.end(), [child](const Found& f) { return f.pid == child; });
        if (!known) {
          found.push_back({child, parent});
          frontier.push_back(child);
        }
      }
    }
  }
  for (const Found& process : found) {  // parents come before their children
    auto parent = members_.find(process.parent);
    track(process.pid, parent == members_.end() ? 1 : parent->second.depth + 1, started_);
  }
}

ProcessTreeUsage ProcessTree::sample(double now_s) {
  if (!started_) {
    track(root_, 0, false);
    discover(true);
    started_ = true;
    next_discovery_s_ = now_s + discovery_period_s_;
  } else if (now_s >= next_discovery_s_) {
    // Children forked by threads other than the main one are found by a full scan, every 30 discoveries.
    discover(++discoveries_ % 30 == 0);
    next_discovery_s_ = now_s + discovery_period_s_;
  }

  ProcessTreeUsage usage;
  std::vector<pid_t> gone;
  std::uint64_t live_ticks = 0;
  for (pid_t pid : order_) {  // parents first
    Member& member = members_.at(pid);
    auto text = member.stat.read();
    auto fields = text ? parse_pid_stat(text.value()) : Result<ProcStatFields>(Error{"gone"});
    if (!fields || fields.value().start_ticks != member.start_ticks) {
      gone.push_back(pid);
      continue;
    }
    const ProcStatFields& now = fields.value();
    member.ppid = now.ppid;
    member.cpu_ticks = std::max(member.cpu_ticks, now.cpu_ticks);
    live_ticks += member.cpu_ticks - std::min(member.cpu_ticks, member.offset_ticks);
    usage.rss_bytes += now.rss_pages * static_cast<std::uint64_t>(page_size_);
    ++usage.processes;
  }
  for (pid_t pid : gone) depart(pid);
  const double cpu_s = static_cast<double>(live_ticks) / clock_ticks_per_second() + departed_cpu_s_;
  high_water_cpu_s_ = std::max(high_water_cpu_s_, cpu_s);
  usage.cpu_s = high_water_cpu_s_;
  return usage;
}

}  // namespace carbonmeter
