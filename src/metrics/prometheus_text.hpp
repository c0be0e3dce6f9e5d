// The Prometheus text exposition format (version 0.0.4) of carbonmeter's metrics, rendered from a
// snapshot: energy and emissions counters, power and carbon-intensity gauges (docs/prometheus.md).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "carbonmeter/measurement.hpp"

namespace carbonmeter::metrics {

inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

// One sensor channel (a socket's package, its dram, a GPU), attributed to the run's scope.
struct DeviceMetrics {
  Component component = Component::cpu;
  std::string device;  // "package-0", "gpu-1", "host"
  std::string domain;  // "package", "dram", "psys", "estimate", "gpu"
  double energy_j = 0.0;
  double power_w = 0.0;
};

// monitor --per-cgroup: one container's share of one component.
struct CgroupMetrics {
  std::string cgroup;  // the cgroup path
  std::string runtime;
  std::string container_id;
  std::string pod_uid;  // "" outside Kubernetes
  Component component = Component::cpu;
  double energy_j = 0.0;
  double power_w = 0.0;
};

// Labels on every series; job and rank only when known.
struct RunLabels {
  std::string run_id;
  std::string project;
  std::optional<std::string> job;
  std::string node;
  std::optional<int> rank;
};

struct MetricsSnapshot {
  RunLabels labels;
  std::vector<DeviceMetrics> devices;
  std::vector<CgroupMetrics> cgroups;
  std::optional<double> emissions_g;          // absent when the emissions cannot be accounted
  std::optional<double> intensity_g_per_kwh;  // the grid's intensity in force now (without PUE)
};

// A label value as the format wants it: backslash, double quote and line feed escaped, and bytes
// that are not UTF-8 replaced by U+FFFD (Prometheus rejects a scrape that has any).
std::string escape_label_value(std::string_view value);
// A sample value: shortest round-trip decimal, or NaN, +Inf, -Inf.
std::string format_sample_value(double value);

// The exposition text: each family's # HELP and # TYPE once, then its samples; a family without
// samples is left out.
std::string render_prometheus_text(const MetricsSnapshot& snapshot);

}  // namespace carbonmeter::metrics
