#include "core/command_cgroup.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/roots.hpp"

namespace carbonmeter {
namespace {

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

}  // namespace

Result<CommandCgroup> CommandCgroup::create_for(pid_t pid) {
  auto mountinfo = read_text_file(procfs_root() + "/self/mountinfo");
  auto cgroups = read_text_file(procfs_root() + "/self/cgroup");
  if (!mountinfo || !cgroups)
    return Error{"cgroups unknown: " + (mountinfo ? cgroups : mountinfo).error().message};
  const CgroupMounts mounts = parse_cgroup_mounts(mountinfo.value());
  const std::string name = "carbonmeter-" + std::to_string(::getpid()) + "-" + std::to_string(pid);

  CommandCgroup out;
  auto make = [&](const std::string& mount, const std::string& mount_root,
                  const std::string& controller) -> Result<std::string> {
    const std::string parent = cgroup_folder(mount, mount_root, cgroup_path_of(cgroups.value(), controller));
    const std::string dir = parent + "/" + name;
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
      return Error{"cannot make a cgroup in " + parent + ": " + std::strerror(errno) +
                   " (run as root or inside a delegated cgroup to read the tree in one read)"};
    out.dirs_.push_back(dir);
    if (auto moved = write_pid(dir, pid); !moved) return moved.error();
    return dir;
  };

  Result<CgroupReader> reader = Error{"no cgroup hierarchy is mounted"};
  if (!mounts.cpuacct.empty()) {
    auto cpu_dir = make(mounts.cpuacct, mounts.cpuacct_root, "cpuacct");
    if (!cpu_dir) return cpu_dir.error();
    std::string memory_dir;
    if (!mounts.memory.empty())
      if (auto made = make(mounts.memory, mounts.memory_root, "memory")) memory_dir = made.value();
    reader = CgroupReader::open(cpu_dir.value(), false, memory_dir);
  } else if (!mounts.v2.empty()) {
    auto dir = make(mounts.v2, mounts.v2_root, "");
    if (!dir) return dir.error();
    reader = CgroupReader::open(dir.value(), true);
  }
  if (!reader) return reader.error();
  out.reader_.emplace(std::move(reader).value());
  return out;
}

CommandCgroup::CommandCgroup(CommandCgroup&& other) noexcept
    : dirs_(std::move(other.dirs_)), reader_(std::move(other.reader_)) {
  other.dirs_.clear();
}

CommandCgroup::~CommandCgroup() {
  // A cgroup can be removed only when empty: a process left behind keeps it (and is still counted
  // by the kernel's hierarchy above).
  for (auto dir = dirs_.rbegin(); dir != dirs_.rend(); ++dir) ::rmdir(dir->c_str());
}

}  // namespace carbonmeter
