#include "core/container.hpp"

#include <unistd.h>

#include <cstdlib>

#include "core/cgroup_files.hpp"
#include "core/cgroup_labels.hpp"
#include "core/roots.hpp"
#include "core/text_file.hpp"

namespace carbonmeter {
namespace {

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// A file at the root of PID 1's filesystem: through /proc/1/root, or at / when that cannot be
// entered (no ptrace access to PID 1) and procfs is the real one.
bool in_init_root(const std::string& file) {
  const std::string through_procfs = procfs_root() + "/1/root" + file;
  if (exists(through_procfs)) return true;
  if (exists(procfs_root() + "/1/root/.") || procfs_root() != "/proc") return false;
  return exists(file);
}

std::string container_variable_of_init() {
  auto environ = read_text_file(procfs_root() + "/1/environ");
  if (!environ) return "";
  std::string_view rest = environ.value();
  while (!rest.empty()) {
    const std::size_t end = rest.find('\0');
    const std::string_view entry = rest.substr(0, end);
    if (entry.substr(0, 10) == "container=") return std::string(entry.substr(10));
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  return "";
}

}  // namespace

ContainerInfo detect_container() {
  ContainerInfo info;
  if (const char* forced = std::getenv("CARBONMETER_CONTAINER"); forced && *forced) {
    if (std::string(forced) == "none") return info;
    info.inside = true;
    info.runtime = forced;
    info.evidence = "CARBONMETER_CONTAINER";
    return info;
  }
  if (auto cgroups = read_text_file(procfs_root() + "/self/cgroup")) {
    std::string path = cgroup_path_of(cgroups.value(), "");
    if (path.empty() || path == "/") path = cgroup_path_of(cgroups.value(), "cpuacct");
    const CgroupLabels labels = labels_of_cgroup(path);
    if (labels.is_container()) {
      info = {true, labels.runtime, labels.container_id, "the cgroup path " + path};
      return info;
    }
  }
  if (in_init_root("/.dockerenv")) {
    info = {true, "docker", "", "/.dockerenv"};
  } else if (in_init_root("/run/.containerenv")) {
    info = {true, "podman", "", "/run/.containerenv"};
  } else if (std::string runtime = container_variable_of_init(); !runtime.empty()) {
    info = {true, runtime, "", "container=" + runtime + " in PID 1's environment"};
  } else if (const char* kubernetes = std::getenv("KUBERNETES_SERVICE_HOST"); kubernetes && *kubernetes) {
    info = {true, "kubernetes", "", "KUBERNETES_SERVICE_HOST"};
  }
  return info;
}

std::string container_note(const ContainerInfo& container, const MethodInfo& cpu_method) {
  if (!container.inside) return "";
  std::string note = "inside a " + container.runtime + " container (" + container.evidence + "): ";
  if (cpu_method.method == "cpu-estimate" || cpu_method.method == "none")
    return note + "the host's RAPL counters cannot be read from here, so CPU energy is " +
           (cpu_method.method == "none" ? "not measured" : "estimated") +
           "; mount the socket of a `carbonmeter agent` on the host (docs/agent.md) or a host export "
           "(docs/vm_export.md) to measure it";
  if (cpu_method.method == "rapl-powercap" || cpu_method.method == "rapl-msr" ||
      cpu_method.method == "rapl-agent")
    return note + "RAPL counts the whole host; the container's share is taken by CPU time and memory";
  return note + "/proc/stat is the host's; the container's share is taken by CPU time and memory";
}

}  // namespace carbonmeter
