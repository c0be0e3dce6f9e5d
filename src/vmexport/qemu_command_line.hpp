// What tells a virtual machine's process and its name: QEMU/KVM programs, and the name their
// command line gives (libvirt's `-name guest=NAME,debug-threads=on`, a plain `-name NAME`), else
// the VM's `-uuid`.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

namespace carbonmeter::vmexport {

// Whether a program runs VMs: its base name (of a comm, argv[0] or exe path) is qemu-system-*
// (a comm is cut at 15 characters: "qemu-system-x86"), qemu-kvm or kvm.
bool is_vm_program(std::string_view program);

// /proc/PID/cmdline (words ending in NUL) as words.
std::vector<std::string> split_cmdline(std::string_view text);

struct VmIdentity {
  std::string name;  // from -name; "" when the command line gives none
  std::string uuid;  // from -uuid; "" when none
};

// args: the command line, program first. QEMU takes `-name` and `--name`; in its value, elements are
// separated by ',' (",," is a comma of the name) and the name is `guest=NAME` or the first element
// without '='.
VmIdentity parse_qemu_command_line(const std::vector<std::string>& args);

// The name the VM is known by: its name, else its uuid, else "qemu-PID".
std::string vm_display_name(const VmIdentity& identity, pid_t pid);

}  // namespace carbonmeter::vmexport
