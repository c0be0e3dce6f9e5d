#include "metrics/prometheus_text.hpp"

#include <fmt/format.h>

#include <cmath>

namespace carbonmeter::metrics {
namespace {

// Length of the valid UTF-8 sequence at text[i], or 0 when the bytes there are not one
// (overlong forms, surrogates and code points above U+10FFFF included).
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // the range allowed for the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (std::size_t k = 2; k < length; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  return length;
}

std::string escape_help(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

struct Family {
  std::string_view name;
  std::string_view type;
  std::string_view help;
};

constexpr Family kEnergy{
    "carbonmeter_energy_joules_total", "counter",
    "Energy used since the run started, attributed to its scope, per device and domain."};
constexpr Family kPower{"carbonmeter_power_watts", "gauge",
                        "Power over the last sample, attributed to the run's scope, per device and domain."};
constexpr Family kEmissions{"carbonmeter_emissions_grams_total", "counter",
                            "CO2-equivalent emissions since the run started, in grams: energy x PUE x the "
                            "carbon intensity in force during each sample."};
constexpr Family kCgroupEnergy{
    "carbonmeter_cgroup_energy_joules_total", "counter",
    "A container's share of the machine's energy since it was found: CPU energy by "
    "CPU time, RAM energy by resident memory (monitor --per-cgroup)."};
constexpr Family kCgroupPower{"carbonmeter_cgroup_power_watts", "gauge",
                              "A container's share of the machine's power over the last sample."};
constexpr Family kIntensity{"carbonmeter_carbon_intensity_grams_per_kwh", "gauge",
                            "Carbon intensity of the electricity in force now, in gCO2e/kWh (before PUE)."};

void add_header(std::string& out, const Family& family) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", family.name, escape_help(family.help), family.name,
                     family.type);
}

void add_label(std::string& labels, std::string_view name, std::string_view value) {
  labels += fmt::format("{}{}=\"{}\"", labels.empty() ? "" : ",", name, escape_label_value(value));
}

std::string run_labels(const RunLabels& run) {
  std::string labels;
  add_label(labels, "run_id", run.run_id);
  add_label(labels, "project", run.project);
  if (run.job) add_label(labels, "job", *run.job);
  add_label(labels, "node", run.node);
  if (run.rank) add_label(labels, "rank", std::to_string(*run.rank));
  return labels;
}

void add_sample(std::string& out, std::string_view name, const std::string& labels, double value) {
  out += fmt::format("{}{{{}}} {}\n", name, labels, format_sample_value(value));
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size();) {
    const char c = value[i];
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      const std::size_t length = utf8_sequence_length(value, i);
      if (length == 0) {
        out += "\xEF\xBF\xBD";  // U+FFFD
        ++i;
        continue;
      }
      out.append(value.substr(i, length));
      i += length;
      continue;
    }
    ++i;
  }
  return out;
}

std::string format_sample_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

std::string render_prometheus_text(const MetricsSnapshot& snapshot) {
  const std::string run = run_labels(snapshot.labels);
  std::string out;
  auto device_families = [&](const Family& family, double DeviceMetrics::*field) {
    if (snapshot.devices.empty()) return;
    add_header(out, family);
    for (const DeviceMetrics& device : snapshot.devices) {
      std::string labels = run;
      add_label(labels, "component", component_name(device.component));
      add_label(labels, "device", device.device);
      add_label(labels, "domain", device.domain);
      add_sample(out, family.name, labels, device.*field);
    }
  };
  device_families(kEnergy, &DeviceMetrics::energy_j);
  device_families(kPower, &DeviceMetrics::power_w);
  auto cgroup_families = [&](const Family& family, double CgroupMetrics::*field) {
    if (snapshot.cgroups.empty()) return;
    add_header(out, family);
    for (const CgroupMetrics& cgroup : snapshot.cgroups) {
      std::string labels = run;
      add_label(labels, "cgroup", cgroup.cgroup);
      add_label(labels, "runtime", cgroup.runtime);
      add_label(labels, "container_id", cgroup.container_id);
      if (!cgroup.pod_uid.empty()) add_label(labels, "pod_uid", cgroup.pod_uid);
      add_label(labels, "component", component_name(cgroup.component));
      add_sample(out, family.name, labels, cgroup.*field);
    }
  };
  cgroup_families(kCgroupEnergy, &CgroupMetrics::energy_j);
  cgroup_families(kCgroupPower, &CgroupMetrics::power_w);
  if (snapshot.emissions_g) {
    add_header(out, kEmissions);
    add_sample(out, kEmissions.name, run, *snapshot.emissions_g);
  }
  if (snapshot.intensity_g_per_kwh) {
    add_header(out, kIntensity);
    add_sample(out, kIntensity.name, run, *snapshot.intensity_g_per_kwh);
  }
  return out;
}

}  // namespace carbonmeter::metrics
