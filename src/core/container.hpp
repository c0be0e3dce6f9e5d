// Whether carbonmeter runs inside a container, and which: what it can and cannot see from there
// (the host's RAPL counters usually not; /proc/stat is the host's) is said in the run's notes.
#pragma once

#include <string>

#include "carbonmeter/measurement.hpp"

namespace carbonmeter {

struct ContainerInfo {
  bool inside = false;
  std::string runtime;       // docker, podman, containerd, cri-o, lxc, kubernetes, ... or "container"
  std::string container_id;  // when the cgroup path shows it
  std::string evidence;      // what told: "/.dockerenv", "container=podman in PID 1's environment", ...
};

// Looks at PID 1's root and environment through procfs_root() (/.dockerenv, /run/.containerenv,
// container=), carbonmeter's own cgroup path, and KUBERNETES_SERVICE_HOST. CARBONMETER_CONTAINER
// overrides: "none" (not in a container) or a runtime name.
ContainerInfo detect_container();

// What a run inside the container should know, given how CPU energy is measured: "" outside one.
std::string container_note(const ContainerInfo& container, const MethodInfo& cpu_method);

}  // namespace carbonmeter
