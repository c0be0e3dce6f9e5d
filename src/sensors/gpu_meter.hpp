// The energy of one GPU, whatever the vendor library: its energy counter when it has one and the
// counter agrees with the power reading over the first seconds, otherwise the power reading
// integrated over time. A GPU that stops answering is noted once and counts nothing after.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/energy_counter.hpp"
#include "sensors/power_integrator.hpp"

namespace carbonmeter {

struct GpuReadFunctions {
  // The raw counter and the joules per unit of it; empty when the device has no counter.
  std::function<std::optional<std::uint64_t>()> energy_counter;
  double joules_per_unit = 1e-3;
  std::function<std::optional<double>()> power_w;
  // True once the device is gone for good (e.g. NVML_ERROR_GPU_IS_LOST); may be set from any
  // thread.
  std::shared_ptr<std::atomic<bool>> lost;
};

class GpuMeter {
 public:
  // method_prefix: "nvml" or "rocm-smi"; methods are PREFIX-counter and PREFIX-power.
  GpuMeter(std::string label, std::string method_prefix, GpuReadFunctions read);
  ~GpuMeter();

  // Energy since the previous read in J. The first read is the baseline. While the counter is
  // being checked (the first kCheckSeconds), the integrated power is reported.
  double read(double elapsed_s);
  // Stops the power-polling thread (after the last read).
  void stop();
  std::string method() const;
  std::string kind() const;
  double relative_uncertainty() const;
  std::vector<std::string> take_notes() { return std::exchange(notes_, {}); }

  static constexpr double kCheckSeconds = 2.0;
  static constexpr double kCounterFailureSeconds = 5.0;

 private:
  enum class Mode { checking_counter, counter, power };
  double read_lost();
  void switch_to_power(const std::string& why);

  std::string label_;
  std::string prefix_;
  GpuReadFunctions read_;
  Mode mode_;
  bool lost_ = false;
  bool baseline_taken_ = false;
  EnergyCounter counter_;
  std::unique_ptr<PowerIntegrator> integrator_;
  double checked_counter_j_ = 0.0;
  double checked_power_j_ = 0.0;
  double checked_s_ = 0.0;
  double counter_failing_s_ = 0.0;
  std::vector<std::string> notes_;
};

// What a set of GPUs is measured with, as one component's method and kind: PREFIX-counter,
// PREFIX-power, or PREFIX-mixed when they differ; and the largest of their uncertainties.
std::string combined_gpu_method(const std::vector<const GpuMeter*>& meters, const std::string& prefix);
std::string gpu_method_kind(const std::string& method);
double worst_gpu_uncertainty(const std::vector<const GpuMeter*>& meters);

}  // namespace carbonmeter
