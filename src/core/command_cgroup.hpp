// A cgroup made for the measured command: the whole tree's CPU time and memory in one read each,
// whatever the number of processes, and nothing lost when processes come and go (the kernel
// keeps the time of exited members). cgroup v1 (cpuacct, memory) where those hierarchies are
// mounted, else cgroup v2 (cpu.stat; memory.stat when the memory controller is on). Creating one
// needs write access to carbonmeter's own cgroup (root, or a delegated systemd scope); without
// it, the process tree is read from /proc instead.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "carbonmeter/result.hpp"
#include "core/cgroup_files.hpp"

namespace carbonmeter {

class CommandCgroup {
 public:
  // Makes carbonmeter-<our pid>-<pid> below carbonmeter's own cgroup and moves pid into it
  // (pid must not have children yet: call it before the command execs).
  static Result<CommandCgroup> create_for(pid_t pid);
  CommandCgroup(CommandCgroup&& other) noexcept;
  CommandCgroup& operator=(CommandCgroup&&) = delete;
  CommandCgroup(const CommandCgroup&) = delete;
  ~CommandCgroup();  // removes the folders once they are empty

  Result<CgroupUsage> read() { return reader_->read(); }
  // The processes in the cgroup now.
  std::vector<pid_t> pids() { return reader_->pids(); }
  // "cgroup v1 (cpuacct, memory)", "cgroup v2 (cpu.stat)", ...
  const std::string& description() const { return reader_->description(); }
  // The folders made for the command (one per hierarchy).
  const std::vector<std::string>& folders() const { return dirs_; }

 private:
  CommandCgroup() = default;
  std::vector<std::string> dirs_;  // made by us, removed at the end
  std::optional<CgroupReader> reader_;
};

}  // namespace carbonmeter
