#include "vmexport/vm_discovery.hpp"

#include <dirent.h>
#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <tuple>

#include "core/process_tree.hpp"
#include "core/roots.hpp"
#include "core/text_file.hpp"

namespace carbonmeter::vmexport {
namespace {

// The program a process runs, when it is a VM program: its comm, else the target of its exe link
// (a VM may rename itself with `-name ...,process=NAME`). "" otherwise.
std::string vm_program_of(const std::string& pid_dir) {
  if (auto comm = read_text_file(pid_dir + "/comm")) {
    const std::string name(trim(comm.value()));
    if (is_vm_program(name)) return name;
  }
  char target[PATH_MAX];
  const ssize_t length = ::readlink((pid_dir + "/exe").c_str(), target, sizeof target - 1);
  if (length <= 0) return "";
  std::string exe(target, static_cast<std::size_t>(length));
  if (const auto deleted = exe.rfind(" (deleted)"); deleted != std::string::npos) exe.resize(deleted);
  if (!is_vm_program(exe)) return "";
  return exe.substr(exe.rfind('/') + 1);
}

}  // namespace

std::vector<VmProcess> find_vm_processes() {
  std::vector<VmProcess> found;
  const std::string root = procfs_root();
  DIR* dir = ::opendir(root.c_str());
  if (!dir) return found;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name(entry->d_name);
    pid_t pid = 0;
    const auto [end, error] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (error != std::errc() || end != name.data() + name.size() || pid <= 0) continue;
    const std::string pid_dir = root + "/" + std::string(name);
    VmProcess vm;
    vm.pid = pid;
    vm.program = vm_program_of(pid_dir);
    if (vm.program.empty()) continue;
    auto cmdline = read_text_file(pid_dir + "/cmdline");
    if (!cmdline || cmdline.value().empty()) continue;  // a kernel thread, or gone
    auto stat = read_text_file(pid_dir + "/stat");
    if (!stat) continue;
    auto fields = parse_pid_stat(stat.value());
    if (!fields) continue;
    vm.start_ticks = fields.value().start_ticks;
    vm.identity = parse_qemu_command_line(split_cmdline(cmdline.value()));
    vm.name = vm_display_name(vm.identity, pid);
    found.push_back(std::move(vm));
  }
  ::closedir(dir);
  std::sort(found.begin(), found.end(), [](const VmProcess& a, const VmProcess& b) {
    return std::tie(a.start_ticks, a.pid) < std::tie(b.start_ticks, b.pid);
  });
  return found;
}

}  // namespace carbonmeter::vmexport
