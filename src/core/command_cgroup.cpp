#include "core/command_cgroup.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "core/roots.hpp"

namespace carbonmeter {
namespace {

struct CgroupMounts {
  std::string v2;       // mount point of the unified hierarchy
  std::string v2_root;  // the mount's root inside the hierarchy
  std::string cpuacct, cpuacct_root;
  std::string memory, memory_root;
};

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> out;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, separator)) out.push_back(part);
  return out;
}

// /proc/self/mountinfo: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER".
CgroupMounts find_mounts(const std::string& mountinfo) {
  CgroupMounts mounts;
  std::istringstream lines(mountinfo);
  std::string line;
  while (std::getline(lines, line)) {
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
        }
      }
    }
  }
  return mounts;
}

// /proc/self/cgroup: "0::/path" (v2), "N:cpu,cpuacct:/path" (v1). controller "" asks for the v2 line.
std::string own_path(const std::string& cgroups, const std::string& controller) {
  std::istringstream lines(cgroups);
  std::string line;
  while (std::getline(lines, line)) {
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

// The folder of our own cgroup in a hierarchy mounted at mount_point whose root is mount_root.
std::string own_dir(const std::string& mount_point, const std::string& mount_root, const std::string& path) {
  std::string relative = path;
  if (mount_root != "/" && relative.rfind(mount_root, 0) == 0) relative = relative.substr(mount_root.size());
  return mount_point + (relative == "/" ? "" : relative);
}

Status write_pid(const std::string& dir, pid_t pid) {
  const std::string path = dir + "/cgroup.procs";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Error{path + ": " + std::strerror(errno)};
  const std::string text = std::to_string(pid) + "\n";
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int saved = errno;
  ::close(fd);
  if (!written) return Error{"moving the command into " + dir + ": " + std::strerror(saved)};
  return Ok{};
}

std::optional<std::uint64_t> stat_field(std::string_view text, std::string_view key) {
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

}  // namespace

Result<CommandCgroup> CommandCgroup::create_for(pid_t pid) {
  auto mountinfo = read_text_file(procfs_root() + "/self/mountinfo");
  auto cgroups = read_text_file(procfs_root() + "/self/cgroup");
  if (!mountinfo || !cgroups)
    return Error{"cgroups unknown: " + (mountinfo ? cgroups : mountinfo).error().message};
  const CgroupMounts mounts = find_mounts(mountinfo.value());
  const std::string name = "carbonmeter-" + std::to_string(::getpid()) + "-" + std::to_string(pid);

  CommandCgroup out;
  auto make = [&](const std::string& parent) -> Result<std::string> {
    const std::string dir = parent + "/" + name;
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
      return Error{"cannot make a cgroup in " + parent + ": " + std::strerror(errno) +
                   " (run as root or inside a delegated cgroup to read the tree in one read)"};
    out.dirs_.push_back(dir);
    if (auto moved = write_pid(dir, pid); !moved) return moved.error();
    return dir;
  };

  std::string cpu_dir;
  if (!mounts.cpuacct.empty()) {
    auto dir = make(own_dir(mounts.cpuacct, mounts.cpuacct_root, own_path(cgroups.value(), "cpuacct")));
    if (!dir) return dir.error();
    cpu_dir = dir.value();
    out.cpu_file_ = RereadableFile(cpu_dir + "/cpuacct.usage", 64);
    out.description_ = "cgroup v1 (cpuacct";
    if (!mounts.memory.empty()) {
      auto memory_dir = make(own_dir(mounts.memory, mounts.memory_root, own_path(cgroups.value(), "memory")));
      if (memory_dir) {
        out.memory_stat_.emplace(memory_dir.value() + "/memory.stat", 4096);
        out.description_ += ", memory";
      }
    }
    out.description_ += ")";
  } else if (!mounts.v2.empty()) {
    auto dir = make(own_dir(mounts.v2, mounts.v2_root, own_path(cgroups.value(), "")));
    if (!dir) return dir.error();
    cpu_dir = dir.value();
    out.cpu_file_ = RereadableFile(cpu_dir + "/cpu.stat", 1024);
    out.cpu_is_v2_ = true;
    out.description_ = "cgroup v2 (cpu.stat";
    if (::access((cpu_dir + "/memory.stat").c_str(), R_OK) == 0) {
      out.memory_stat_.emplace(cpu_dir + "/memory.stat", 4096);
      out.memory_is_v2_ = true;
      out.description_ += ", memory.stat";
    }
    out.description_ += ")";
  } else {
    return Error{"no cgroup hierarchy is mounted"};
  }
  out.procs_path_ = cpu_dir + "/cgroup.procs";
  if (auto opened = out.cpu_file_.open(); !opened) return opened.error();
  if (out.memory_stat_ && !out.memory_stat_->open()) out.memory_stat_.reset();
  return out;
}

CommandCgroup::CommandCgroup(CommandCgroup&& other) noexcept
    : dirs_(std::move(other.dirs_)),
      cpu_file_(std::move(other.cpu_file_)),
      cpu_is_v2_(other.cpu_is_v2_),
      memory_stat_(std::move(other.memory_stat_)),
      memory_is_v2_(other.memory_is_v2_),
      procs_path_(std::move(other.procs_path_)),
      description_(std::move(other.description_)) {
  other.dirs_.clear();
}

CommandCgroup::~CommandCgroup() {
  // A cgroup can be removed only when empty: a process left behind keeps it (and is still counted
  // by the kernel's hierarchy above).
  for (auto dir = dirs_.rbegin(); dir != dirs_.rend(); ++dir) ::rmdir(dir->c_str());
}

Result<CgroupUsage> CommandCgroup::read() {
  CgroupUsage usage;
  auto text = cpu_file_.read();
  if (!text) return text.error();
  if (cpu_is_v2_) {
    auto usec = stat_field(text.value(), "usage_usec");
    if (!usec) return Error{cpu_file_.path() + ": no usage_usec line"};
    usage.cpu_s = static_cast<double>(*usec) / 1e6;
  } else {
    auto ns = parse_u64(trim(text.value()));
    if (!ns) return Error{cpu_file_.path() + ": not a number"};
    usage.cpu_s = static_cast<double>(*ns) / 1e9;
  }
  if (memory_stat_) {
    if (auto stat = memory_stat_->read()) {
      auto anon = stat_field(stat.value(), memory_is_v2_ ? "anon" : "total_rss");
      auto mapped = stat_field(stat.value(), memory_is_v2_ ? "file_mapped" : "total_mapped_file");
      if (anon) usage.rss_bytes = *anon + mapped.value_or(0);
    }
  }
  return usage;
}

std::vector<pid_t> CommandCgroup::pids() {
  // Opened afresh every time: cgroup v1 keeps the pid list of an open file cached for a while.
  std::vector<pid_t> out;
  auto text = read_text_file(procs_path_);
  if (!text) return out;
  std::string_view rest = text.value();
  while (!rest.empty()) {
    std::size_t end = rest.find('\n');
    if (end == std::string_view::npos) end = rest.size();
    if (auto pid = parse_u64(trim(rest.substr(0, end)))) out.push_back(static_cast<pid_t>(*pid));
    rest.remove_prefix(std::min(rest.size(), end + 1));
  }
  return out;
}

}  // namespace carbonmeter
