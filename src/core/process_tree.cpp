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

void ProcessTree::add_reaped_cpu_s(double cpu_s) {
  const double absorbed = std::min(cpu_s, reaper_credit_s_);
  reaper_credit_s_ -= absorbed;
  reaped_cpu_s_ += cpu_s - absorbed;
}

void ProcessTree::track(pid_t pid, bool count_past_time) {
  if (members_.count(pid)) return;
  Member member{RereadableFile(pid_path(pid, "/stat"))};
  auto text = member.stat.read();
  if (!text) return;  // already gone
  auto fields = parse_pid_stat(text.value());
  if (!fields) return;
  member.ppid = fields.value().ppid;
  member.start_ticks = fields.value().start_ticks;
  member.rss_pages = fields.value().rss_pages;
  // Time a process had before the tracker started is not the run's; a process that appears
  // later was born during the run, so all of its time is.
  member.last_cpu_ticks = count_past_time ? 0 : fields.value().cpu_ticks;
  members_.emplace(pid, std::move(member));
}

void ProcessTree::depart(pid_t pid) {
  auto it = members_.find(pid);
  if (it == members_.end()) return;
  const std::uint64_t counted = it->second.last_cpu_ticks;
  const pid_t parent = it->second.ppid;
  members_.erase(it);
  if (auto parent_it = members_.find(parent); parent_it != members_.end()) {
    parent_it->second.credit_ticks += counted;
  } else if (parent == ::getpid()) {
    reaper_credit_s_ += static_cast<double>(counted) / clock_ticks_per_second();
  }
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

void ProcessTree::full_scan(std::vector<pid_t>& out) {
  DIR* dir = ::opendir(procfs_root().c_str());
  if (!dir) return;
  std::vector<std::pair<pid_t, pid_t>> parent_of;
  while (dirent* entry = ::readdir(dir)) {
    pid_t pid = 0;
    std::string_view name(entry->d_name);
    auto [ptr, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (ec != std::errc() || ptr != name.data() + name.size() || pid <= 0) continue;
    auto text = read_text_file(pid_path(pid, "/stat"));
    if (!text) continue;
    auto fields = parse_pid_stat(text.value());
    if (fields) parent_of.emplace_back(pid, fields.value().ppid);
  }
  ::closedir(dir);
  // Repeat until no new descendant appears (parents may be listed after their children).
  for (bool grew = true; grew;) {
    grew = false;
    for (auto [pid, ppid] : parent_of) {
      bool known = members_.count(pid) ||
                   std::find(out.begin(), out.end(), pid) != out.end();
      bool parent_in = members_.count(ppid) ||
                       std::find(out.begin(), out.end(), ppid) != out.end();
      if (!known && parent_in) {
        out.push_back(pid);
        grew = true;
      }
    }
  }
}

void ProcessTree::discover(bool full) {
  std::vector<pid_t> found;
  if (full || !children_files_work_) {
    full_scan(found);
  } else {
    std::vector<pid_t> frontier;
    for (auto& [pid, member] : members_) frontier.push_back(pid);
    while (!frontier.empty()) {
      pid_t pid = frontier.back();
      frontier.pop_back();
      std::vector<pid_t> children;
      discover_children_of(pid, children);
      for (pid_t child : children) {
        if (!members_.count(child) && std::find(found.begin(), found.end(), child) == found.end()) {
          found.push_back(child);
          frontier.push_back(child);
        }
      }
    }
  }
  for (pid_t pid : found) track(pid, started_);
}

ProcessTreeUsage ProcessTree::sample(double now_s) {
  if (!started_) {
    track(root_, false);
    discover(true);
    started_ = true;
    next_discovery_s_ = now_s + discovery_period_s_;
  } else if (now_s >= next_discovery_s_) {
    discover(++discoveries_ % 10 == 0);
    next_discovery_s_ = now_s + discovery_period_s_;
  }

  ProcessTreeUsage usage;
  std::vector<pid_t> gone;
  for (auto& [pid, member] : members_) {
    auto text = member.stat.read();
    auto fields = text ? parse_pid_stat(text.value()) : Result<ProcStatFields>(Error{"gone"});
    if (!fields || fields.value().start_ticks != member.start_ticks) {
      gone.push_back(pid);
      continue;
    }
    const ProcStatFields& now = fields.value();
    member.ppid = now.ppid;
    member.rss_pages = now.rss_pages;
    if (now.cpu_ticks > member.last_cpu_ticks) {
      std::uint64_t growth = now.cpu_ticks - member.last_cpu_ticks;
      const std::uint64_t absorbed = std::min(growth, member.credit_ticks);
      member.credit_ticks -= absorbed;
      counted_ticks_ += growth - absorbed;
      member.last_cpu_ticks = now.cpu_ticks;
    }
    usage.rss_bytes += now.rss_pages * static_cast<std::uint64_t>(page_size_);
    ++usage.processes;
  }
  for (pid_t pid : gone) depart(pid);
  usage.cpu_s = static_cast<double>(counted_ticks_) / clock_ticks_per_second() + reaped_cpu_s_;
  return usage;
}

}  // namespace carbonmeter
