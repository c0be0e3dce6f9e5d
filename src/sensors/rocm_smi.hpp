// AMD GPUs through ROCm SMI, loaded at run time from librocm_smi64.so (or
// $CARBONMETER_ROCM_SMI_LIBRARY): the energy counter when available, else integrated power.
#pragma once

#include "sensors/gpu_selection.hpp"
#include "sensors/sensor_status.hpp"

namespace carbonmeter {

ProbeOutcome probe_rocm_smi(const GpuSelection& selection);

}  // namespace carbonmeter
