// Finding the VMs running on the host: QEMU/KVM processes in procfs (under procfs_root()).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "vmexport/qemu_command_line.hpp"

namespace carbonmeter::vmexport {

struct VmProcess {
  pid_t pid = 0;
  std::uint64_t start_ticks = 0;  // with the pid, tells this process from a later one with its pid
  std::string program;            // "qemu-system-x86_64"
  VmIdentity identity;
  std::string name;  // vm_display_name()

  bool same_process(pid_t other_pid, std::uint64_t other_start_ticks) const {
    return pid == other_pid && start_ticks == other_start_ticks;
  }
};

// Every process whose comm or executable is a VM program (is_vm_program) and that has a command
// line (kernel threads have none), oldest first.
std::vector<VmProcess> find_vm_processes();

}  // namespace carbonmeter::vmexport
