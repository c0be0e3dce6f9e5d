#include "core/cgroup_labels.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace carbonmeter {
namespace {

bool is_hex_id(std::string_view text) {
  return text.size() >= 12 && text.size() <= 128 && std::all_of(text.begin(), text.end(), [](char c) {
           return std::isxdigit(static_cast<unsigned char>(c));
         });
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}
bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    const std::size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    if (!part.empty()) out.push_back(part);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

// "kubepods-burstable-pod1f2e_3d4c.slice" or "pod1f2e-3d4c": the uid, dashes restored.
std::string pod_uid_of(std::string_view segment) {
  if (ends_with(segment, ".slice")) segment.remove_suffix(6);
  const std::size_t at = segment.rfind("pod");
  if (at == std::string_view::npos || (at > 0 && segment[at - 1] != '-')) return "";
  std::string uid(segment.substr(at + 3));
  std::replace(uid.begin(), uid.end(), '_', '-');
  const bool plausible = uid.size() >= 8 && std::all_of(uid.begin(), uid.end(), [](char c) {
                           return std::isxdigit(static_cast<unsigned char>(c)) || c == '-';
                         });
  return plausible ? uid : "";
}

struct ScopePrefix {
  std::string_view prefix;
  std::string_view runtime;
};
// Container runtimes' cgroups: "<prefix><id>.scope" (systemd driver), "libpod-<id>" (cgroupfs).
constexpr ScopePrefix kScopePrefixes[] = {
    {"docker-", "docker"}, {"cri-containerd-", "containerd"}, {"crio-", "cri-o"}, {"libpod-", "podman"}};

}  // namespace

CgroupLabels labels_of_cgroup(std::string_view path) {
  CgroupLabels labels;
  const std::vector<std::string_view> parts = segments(path);
  bool in_kubepods = false;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string_view part = parts[i];
    if (starts_with(part, "kubepods")) {
      in_kubepods = true;
      for (std::string_view qos : {"burstable", "besteffort"})
        if (part.find(qos) != std::string_view::npos) labels.qos = std::string(qos);
      if (std::string uid = pod_uid_of(part); !uid.empty()) labels.pod_uid = uid;
      continue;
    }
    if (in_kubepods && (part == "burstable" || part == "besteffort")) {
      labels.qos = std::string(part);
      continue;
    }
    if (in_kubepods && starts_with(part, "pod")) {
      if (std::string uid = pod_uid_of(part); !uid.empty()) labels.pod_uid = uid;
      continue;
    }
    const std::string_view unit = ends_with(part, ".scope") ? part.substr(0, part.size() - 6) : part;
    for (const ScopePrefix& scope : kScopePrefixes) {
      if (!starts_with(unit, scope.prefix)) continue;
      const std::string_view id = unit.substr(scope.prefix.size());
      if (is_hex_id(id)) {  // not "libpod-conmon-…" nor "crio-conmon-…"
        labels.runtime = std::string(scope.runtime);
        labels.container_id = std::string(id);
      }
    }
    if (i > 0 && is_hex_id(part)) {  // cgroupfs driver: /docker/<id>, /kubepods/…/pod<uid>/<id>
      if (parts[i - 1] == "docker") labels.runtime = "docker";
      labels.container_id = std::string(part);
    }
    if (i > 0 && (parts[i - 1] == "lxc" || parts[i - 1] == "lxc.payload") && labels.container_id.empty()) {
      labels.runtime = "lxc";
      labels.container_id = std::string(part);
    }
    if (starts_with(part, "lxc.payload.") && part.size() > 12) {
      labels.runtime = "lxc";
      labels.container_id = std::string(part.substr(12));
    }
  }
  if (in_kubepods && labels.qos.empty() && !labels.pod_uid.empty()) labels.qos = "guaranteed";
  if (in_kubepods && labels.runtime.empty() && !labels.container_id.empty()) labels.runtime = "kubernetes";
  return labels;
}

}  // namespace carbonmeter
