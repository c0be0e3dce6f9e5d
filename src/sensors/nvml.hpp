// NVIDIA GPUs through NVML, loaded at run time from libnvidia-ml.so.1 (or
// $CARBONMETER_NVML_LIBRARY): the energy counter per device (Volta and newer) when it is
// plausible, else integrated power; per-process shares from NVML's utilisation samples.
#pragma once

#include "sensors/gpu_selection.hpp"
#include "sensors/sensor_status.hpp"

namespace carbonmeter {

ProbeOutcome probe_nvml(const GpuSelection& selection);

}  // namespace carbonmeter
