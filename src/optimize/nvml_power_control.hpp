// The GPU side of power-limit tuning through NVML (loaded at run time like the NVML sensor): each
// GPU's limits (current, default, min, max), setting a limit, and the energy of the GPUs between
// two reads (their energy counter, else integrated power).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "carbonmeter/result.hpp"
#include "sensors/gpu_selection.hpp"

namespace carbonmeter {

struct GpuPowerLimits {
  unsigned index = 0;
  std::string name;
  std::string uuid;
  double current_w = 0.0;
  double default_w = 0.0;
  double min_w = 0.0;
  double max_w = 0.0;
};

class NvmlPowerControl {
 public:
  // The GPUs of the selection (indices or UUIDs); fails without NVML or when a GPU's limits cannot
  // be read (the error says what to do).
  static Result<std::unique_ptr<NvmlPowerControl>> open(const GpuSelection& selection);
  ~NvmlPowerControl();
  NvmlPowerControl(const NvmlPowerControl&) = delete;
  NvmlPowerControl& operator=(const NvmlPowerControl&) = delete;

  const std::vector<GpuPowerLimits>& gpus() const;
  // Sets GPU i (in gpus()) to limit_w, rounded to the mW. Without the privilege the error names
  // the capability.
  Status set_limit_w(std::size_t i, double limit_w);
  // The bare NVML call for a signal handler: no allocation, no error text.
  bool set_limit_mw_quietly(std::size_t i, unsigned limit_mw) noexcept;
  // Energy of every GPU together since the previous call, in J (the first call starts the meters
  // and returns 0); nullopt when a GPU's counter could not be read (that stretch is lost).
  // elapsed_s: seconds on a monotonic clock.
  std::optional<double> take_energy_j(double elapsed_s);
  // "nvml-counter", "nvml-power" or "nvml-mixed".
  std::string energy_method() const;

  class Impl;

 private:
  explicit NvmlPowerControl(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace carbonmeter
