// What a cgroup path says about the container or pod in it: the runtime, the container id, the
// Kubernetes pod uid and QoS class ("/kubepods.slice/kubepods-burstable.slice/
// kubepods-burstable-pod1f2e….slice/cri-containerd-9a8b….scope"). Used for the labels of
// monitor --per-cgroup and to recognise a container from the inside.
#pragma once

#include <string>
#include <string_view>

namespace carbonmeter {

struct CgroupLabels {
  std::string runtime;       // docker, containerd, cri-o, podman, lxc, kubernetes; "" when none
  std::string container_id;  // the runtime's id (64 hex digits for most), or the LXC name
  std::string pod_uid;       // Kubernetes pod uid, dashes restored
  std::string qos;           // guaranteed, burstable, besteffort (Kubernetes)
  bool is_container() const { return !container_id.empty(); }
  bool is_pod() const { return !pod_uid.empty(); }
};

CgroupLabels labels_of_cgroup(std::string_view path);

}  // namespace carbonmeter
