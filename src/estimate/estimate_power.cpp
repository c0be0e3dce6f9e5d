// The power budget of a calculated run (docs/estimate.md says where each figure comes from).
#include <fmt/format.h>

#include <cmath>

#include "estimate/estimate.hpp"

namespace carbonmeter {
namespace {

// How far an average draw can be from the figure used (docs/estimate.md).
constexpr double kTdpUncertainty = 0.30;              // a TDP is a ceiling; real averages sit below it
constexpr double kMeasuredAverageUncertainty = 0.15;  // Google's measured TPU averages
constexpr double kGivenPowerUncertainty = 0.10;       // the user's own figure
constexpr double kKnownCpuUncertainty = 0.30;
constexpr double kDefaultCpuUncertainty = 0.50;
constexpr double kMemoryUncertainty = 0.50;  // 0.3725 W/GB vs CodeCarbon's 5 W per DIMM

Status check_fraction(const std::optional<double>& value, const char* flag) {
  if (value && !(*value >= 0.0 && *value <= 1.0))
    return Error{fmt::format("{} {}: a utilisation is a fraction from 0 to 1 (0.8 for 80 %)", flag, *value)};
  return Ok{};
}

Result<PowerPart> accelerator_part(const EstimateInputs& in, const AcceleratorTable& accelerators) {
  PowerPart part;
  part.component = "accelerator";
  part.units = in.count;
  part.utilization = in.gpu_utilization.value_or(1.0);
  if (in.hardware) {
    const AcceleratorMatch match = accelerators.find_accelerator(*in.hardware);
    if (match.kind != AcceleratorMatchKind::unique)
      return Error{fmt::format("--hardware '{}': {}{}", *in.hardware, describe(match),
                               match.kind == AcceleratorMatchKind::unknown
                                   ? "; see `carbonmeter estimate --list-hardware`, or give --power-w W"
                                   : "")};
    const Accelerator& a = *match.accelerator;
    part.what = fmt::format("{} × {}", in.count, describe(match));
    part.unit_power_w = a.power_w;
    part.how = fmt::format("{}, {}: {}", a.power_kind == PowerKind::tdp ? "TDP" : "measured average",
                           a.source, a.reference);
    part.relative_uncertainty =
        a.power_kind == PowerKind::tdp ? kTdpUncertainty : kMeasuredAverageUncertainty;
  }
  if (in.power_w) {
    if (part.what.empty()) part.what = fmt::format("{} × accelerator", in.count);
    part.unit_power_w = *in.power_w;
    part.how = "--power-w";
    part.relative_uncertainty = kGivenPowerUncertainty;
  }
  part.power_w = part.units * part.unit_power_w * part.utilization;
  return part;
}

Result<PowerPart> cpu_part(const EstimateInputs& in, const CpuTdpTable& cpus) {
  PowerPart part;
  part.component = "cpu";
  part.utilization = in.cpu_utilization.value_or(1.0);
  part.unit_power_w = kDefaultCoreW;
  part.how = "Green Algorithms' 12 W per core of an unknown CPU";
  part.relative_uncertainty = kDefaultCpuUncertainty;
  std::string model = "an unknown CPU";
  bool whole_package = false;
  if (in.cpu) {
    auto spec = cpus.match(*in.cpu);
    if (!spec)
      return Error{fmt::format(
          "--cpu '{}' is not in data/cpu_tdp.csv: check the model name (as /proc/cpuinfo or the vendor "
          "writes it), or leave --cpu out and give --cores N for Green Algorithms' 12 W per core",
          *in.cpu)};
    model = spec->name;
    if (spec->cores > 0) {
      part.unit_power_w = spec->tdp_w / spec->cores;
      part.how = fmt::format("TDP {} W / {} cores ({})", spec->tdp_w, spec->cores, spec->source);
    } else if (!in.cores) {
      whole_package = true;
      part.units = 1;
      part.unit_power_w = spec->tdp_w;
      part.how = fmt::format("TDP {} W of the whole CPU ({}; core count unknown)", spec->tdp_w, spec->source);
    } else {
      return Error{fmt::format(
          "--cpu '{}': the table has its TDP ({} W) but not its core count, so a per-core power for "
          "--cores is unknown: leave --cores out to count the whole CPU",
          *in.cpu, spec->tdp_w)};
    }
    part.relative_uncertainty = kKnownCpuUncertainty;
    if (part.units == 0) part.units = in.cores.value_or(spec->cores);
  } else {
    part.units = *in.cores;
  }
  part.what = whole_package ? model : fmt::format("{} cores of {}", part.units, model);
  part.power_w = part.units * part.unit_power_w * part.utilization;
  return part;
}

}  // namespace

Result<std::vector<PowerPart>> estimate_power(const EstimateInputs& in, const AcceleratorTable& accelerators,
                                              const CpuTdpTable& cpus) {
  if (auto s = check_fraction(in.gpu_utilization, "--gpu-utilization"); !s) return s.error();
  if (auto s = check_fraction(in.cpu_utilization, "--cpu-utilization"); !s) return s.error();
  if (in.count < 1) return Error{fmt::format("--count {}: give at least 1 device", in.count)};
  if (in.power_w && !(*in.power_w > 0 && *in.power_w <= 100000))
    return Error{
        fmt::format("--power-w {}: give the power of one device in watts (more than 0)", *in.power_w)};
  if (in.cores && *in.cores < 1) return Error{fmt::format("--cores {}: give at least 1 core", *in.cores)};
  if (in.memory_gb && !(*in.memory_gb >= 0 && std::isfinite(*in.memory_gb)))
    return Error{fmt::format("--memory-gb {}: give the memory in GB (0 or more)", *in.memory_gb)};

  std::vector<PowerPart> parts;
  if (in.hardware || in.power_w) {
    auto part = accelerator_part(in, accelerators);
    if (!part) return part.error();
    parts.push_back(part.value());
  } else if (in.gpu_utilization) {
    return Error{"--gpu-utilization needs --hardware NAME or --power-w W"};
  }
  if (in.cpu || in.cores) {
    auto part = cpu_part(in, cpus);
    if (!part) return part.error();
    parts.push_back(part.value());
  } else if (in.cpu_utilization) {
    return Error{"--cpu-utilization needs --cpu NAME or --cores N"};
  }
  if (in.memory_gb && *in.memory_gb > 0) {
    PowerPart memory;
    memory.component = "memory";
    memory.what = fmt::format("{} GB of memory", *in.memory_gb);
    memory.units = *in.memory_gb;
    memory.unit_power_w = kMemoryW_per_gb;
    memory.power_w = memory.units * memory.unit_power_w;
    memory.how = "Green Algorithms' 0.3725 W per GB";
    memory.relative_uncertainty = kMemoryUncertainty;
    parts.push_back(memory);
  }
  return parts;
}

}  // namespace carbonmeter
