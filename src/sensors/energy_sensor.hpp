// One interface for every source of energy figures: hardware counters (RAPL, NVML, ROCm SMI),
// integrated power and estimates. Each sensor exposes channels (a socket's package, its dram, a
// GPU); the sampler asks it for the energy of every channel since the previous read.
#pragma once

#include <sys/types.h>

#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "carbonmeter/measurement.hpp"
#include "core/proc_stat.hpp"

namespace carbonmeter {

struct Channel {
  Component component = Component::cpu;
  std::string device;  // "package-0", "gpu-1", "host"
  std::string domain;  // "package", "dram", "psys", "estimate", "gpu"
  std::string model;   // GPUs: "NVIDIA H100 80GB HBM3"
  std::string uuid;    // GPUs: "GPU-…"
};

// What the sampler already read this interval, so that sensors need not read it again.
struct SampleContext {
  double elapsed_s = 0.0;  // since the previous read
  MachineCpuTime cpu_time_delta;
  MemoryInfo memory;
  // The measured process tree's pids (scope process), for sensors that know per-process shares.
  const std::vector<pid_t>* tree_pids = nullptr;
};

// Which parts of the SampleContext a sensor uses; the sampler reads only what someone needs.
struct ContextNeeds {
  bool cpu_time = false;
  bool per_cpu_time = false;
  bool memory = false;
  bool tree_pids = false;
};

struct ChannelReading {
  double energy_j = 0.0;  // since the previous read, never negative
  // The measured process tree's share of this channel when the sensor knows it (a GPU's
  // per-process utilisation); otherwise the sampler applies the component's share.
  std::optional<double> process_share;
};

class EnergySensor {
 public:
  virtual ~EnergySensor() = default;
  // "rapl-powercap", "rapl-msr", "cpu-estimate", "ram-estimate", ...
  virtual std::string method() const = 0;
  // "measured counter", "integrated power" or "estimate".
  virtual std::string kind() const = 0;
  virtual double relative_uncertainty(Component component) const = 0;
  virtual const std::vector<Channel>& channels() const = 0;
  // Fills out[i] for channels()[i]. The first call after construction establishes the baseline
  // and reports 0.
  virtual void read(const SampleContext& context, std::span<ChannelReading> out) = 0;
  virtual ContextNeeds needs() const { return {}; }
  // The method behind one channel when channels differ (a GPU with a counter beside one without).
  virtual std::string channel_method(std::size_t /*channel*/) const { return method(); }
  // The next read is the last (the measured command may have exited already).
  virtual void flush() {}
  // After the last read: stop any thread of the sensor's own.
  virtual void stop() {}
  // The longest sampling period that cannot miss a counter wrap.
  virtual double max_interval_s() const { return std::numeric_limits<double>::infinity(); }
  // Things the user should know (a counter reset, a fallback), drained by the sampler.
  virtual std::vector<std::string> take_notes() { return {}; }
};

}  // namespace carbonmeter
