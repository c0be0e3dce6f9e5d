#include "core/cgroup_files.hpp"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

namespace carbonmeter {
namespace {

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> out;
  std::string part;
  std::istringstream in{std::string(text)};
  while (std::getline(in, part, separator)) out.push_back(part);
  return out;
}

bool readable(const std::string& path) { return ::access(path.c_str(), R_OK) == 0; }

}  // namespace

CgroupMounts parse_cgroup_mounts(std::string_view mountinfo) {
  CgroupMounts mounts;
  for (const std::string& line : split(mountinfo, '\n')) {
    const std::vector<std::string> fields = split(line, ' ');
    std::size_t dash = 0;
    while (dash < fields.size() && fields[dash] != "-") ++dash;
    if (fields.size() < 5 || dash + 1 >= fields.size()) continue;
    const std::string& type = fields[dash + 1];
    const std::string super = dash + 3 < fields.size() ? fields[dash + 3] : "";
    if (type == "cgroup2" && mounts.v2.empty()) {
      mounts.v2 = fields[4];
      mounts.v2_root = fields[3];
    } else if (type == "cgroup") {
      for (const std::string& option : split(super, ',')) {
        if (option == "cpuacct" && mounts.cpuacct.empty()) {
          mounts.cpuacct = fields[4];
          mounts.cpuacct_root = fields[3];
        } else if (option == "memory" && mounts.memory.empty()) {
          mounts.memory = fields[4];
          mounts.memory_root = fields[3];
        } else if (option == "cpuset" && mounts.cpuset.empty()) {
          mounts.cpuset = fields[4];
          mounts.cpuset_root = fields[3];
        } else if (option == "devices" && mounts.devices.empty()) {
          mounts.devices = fields[4];
          mounts.devices_root = fields[3];
        }
      }
    }
  }
  return mounts;
}

std::string cgroup_path_of(std::string_view proc_pid_cgroup, const std::string& controller) {
  for (const std::string& line : split(proc_pid_cgroup, '\n')) {
    const std::size_t first = line.find(':'), second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::vector<std::string> controllers = split(line.substr(first + 1, second - first - 1), ',');
    const bool wanted = controller.empty() ? controllers.empty() && line.compare(0, first, "0") == 0
                                           : std::find(controllers.begin(), controllers.end(), controller) !=
                                                 controllers.end();
    if (wanted) return line.substr(second + 1);
  }
  return "";
}

std::string cgroup_folder(const std::string& mount_point, const std::string& mount_root,
                          const std::string& path) {
  std::string relative = path;
  if (mount_root != "/" && relative.rfind(mount_root, 0) == 0) relative = relative.substr(mount_root.size());
  if (!relative.empty() && relative.front() != '/') relative.insert(0, "/");
  return mount_point + (relative == "/" ? "" : relative);
}

std::optional<std::uint64_t> cgroup_stat_field(std::string_view text, std::string_view key) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ' ')
      return parse_u64(trim(line.substr(key.size() + 1)));
    pos = end + 1;
  }
  return std::nullopt;
}

Result<CgroupReader> CgroupReader::open(const std::string& cpu_folder, bool v2,
                                        const std::string& memory_folder) {
  CgroupReader out;
  out.cpu_folder_ = cpu_folder;
  out.v2_ = v2;
  out.cpu_file_ = RereadableFile(cpu_folder + (v2 ? "/cpu.stat" : "/cpuacct.usage"), 1024);
  if (auto opened = out.cpu_file_.open(); !opened)
    return Error{opened.error().message + (v2 ? " (is this a cgroup v2 folder?)" : "")};
  out.description_ = v2 ? "cgroup v2 (cpu.stat" : "cgroup v1 (cpuacct";
  const std::string memory_stat = (v2 ? cpu_folder : memory_folder) + "/memory.stat";
  if ((v2 || !memory_folder.empty()) && readable(memory_stat)) {
    out.memory_stat_.emplace(memory_stat, 8192);
    if (out.memory_stat_->open())
      out.description_ += v2 ? ", memory.stat" : ", memory";
    else
      out.memory_stat_.reset();
  }
  out.description_ += ")";
  return out;
}

Result<CgroupReader> CgroupReader::open_path(const std::string& path, const CgroupMounts& mounts) {
  if (!mounts.cpuacct.empty()) {  // v1 or hybrid: the v1 controllers are the ones in use
    const std::string folder = cgroup_folder(mounts.cpuacct, mounts.cpuacct_root, path);
    if (readable(folder + "/cpuacct.usage"))
      return open(folder, false,
                  mounts.memory.empty() ? "" : cgroup_folder(mounts.memory, mounts.memory_root, path));
  }
  if (!mounts.v2.empty()) {
    const std::string folder = cgroup_folder(mounts.v2, mounts.v2_root, path);
    if (readable(folder + "/cpu.stat")) return open(folder, true);
  }
  if (mounts.v2.empty() && mounts.cpuacct.empty()) return Error{"no cgroup hierarchy is mounted"};
  return Error{"no cgroup " + path + " in " +
               (mounts.v2.empty() ? mounts.cpuacct
                                  : mounts.v2 + (mounts.cpuacct.empty() ? "" : " or " + mounts.cpuacct)) +
               " (check the path in /proc/PID/cgroup of a process inside it)"};
}

Result<CgroupUsage> CgroupReader::read() {
  CgroupUsage usage;
  auto text = cpu_file_.read();
  if (!text) return text.error();
  if (v2_) {
    auto usec = cgroup_stat_field(text.value(), "usage_usec");
    if (!usec) return Error{cpu_file_.path() + ": no usage_usec line"};
    usage.cpu_s = static_cast<double>(*usec) / 1e6;
  } else {
    auto ns = parse_u64(trim(text.value()));
    if (!ns) return Error{cpu_file_.path() + ": not a number"};
    usage.cpu_s = static_cast<double>(*ns) / 1e9;
  }
  if (memory_stat_) {
    if (auto stat = memory_stat_->read()) {
      auto anon = cgroup_stat_field(stat.value(), v2_ ? "anon" : "total_rss");
      auto mapped = cgroup_stat_field(stat.value(), v2_ ? "file_mapped" : "total_mapped_file");
      if (anon) usage.rss_bytes = *anon + mapped.value_or(0);
    }
  }
  return usage;
}

namespace {

void add_pids_below(const std::string& folder, int depth, std::vector<pid_t>& out) {
  // Opened afresh every time: cgroup v1 keeps the pid list of an open file cached for a while.
  if (auto text = read_text_file(folder + "/cgroup.procs")) {
    std::string_view rest = text.value();
    while (!rest.empty()) {
      std::size_t end = rest.find('\n');
      if (end == std::string_view::npos) end = rest.size();
      if (auto pid = parse_u64(trim(rest.substr(0, end)))) out.push_back(static_cast<pid_t>(*pid));
      rest.remove_prefix(std::min(rest.size(), end + 1));
    }
  }
  if (depth >= 8) return;
  DIR* dir = ::opendir(folder.c_str());
  if (!dir) return;
  std::vector<std::string> children;
  while (dirent* entry = ::readdir(dir))
    if (entry->d_type == DT_DIR && entry->d_name[0] != '.') children.push_back(entry->d_name);
  ::closedir(dir);
  for (const std::string& child : children) add_pids_below(folder + "/" + child, depth + 1, out);
}

}  // namespace

std::vector<pid_t> CgroupReader::pids() const {
  // Child cgroups too: Slurm puts a step's processes in task_N below it.
  std::vector<pid_t> out;
  add_pids_below(cpu_folder_, 0, out);
  return out;
}

}  // namespace carbonmeter
