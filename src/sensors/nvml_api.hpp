// The NVML declarations carbonmeter needs (nvml.h is not required to build) and the device
// functions that both the NVML sensor and the power-limit control bind.
#pragma once

#include <string>

#include "sensors/shared_library.hpp"

namespace carbonmeter {

using nvmlReturn_t = int;
using nvmlDevice_t = struct nvmlDevice_st*;
inline constexpr nvmlReturn_t NVML_SUCCESS = 0;
inline constexpr nvmlReturn_t NVML_ERROR_NOT_SUPPORTED = 3;
inline constexpr nvmlReturn_t NVML_ERROR_NO_PERMISSION = 4;
inline constexpr nvmlReturn_t NVML_ERROR_INSUFFICIENT_SIZE = 7;
inline constexpr nvmlReturn_t NVML_ERROR_GPU_IS_LOST = 15;

struct NvmlDeviceApi {
  nvmlReturn_t (*init)() = nullptr;
  nvmlReturn_t (*shutdown)() = nullptr;
  const char* (*error_string)(nvmlReturn_t) = nullptr;
  nvmlReturn_t (*count)(unsigned*) = nullptr;
  nvmlReturn_t (*by_index)(unsigned, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*by_uuid)(const char*, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*index)(nvmlDevice_t, unsigned*) = nullptr;
  nvmlReturn_t (*name)(nvmlDevice_t, char*, unsigned) = nullptr;
  nvmlReturn_t (*uuid)(nvmlDevice_t, char*, unsigned) = nullptr;
  nvmlReturn_t (*power)(nvmlDevice_t, unsigned*) = nullptr;
  // Optional: older drivers or GPUs lack it.
  nvmlReturn_t (*energy)(nvmlDevice_t, unsigned long long*) = nullptr;

  std::string error(nvmlReturn_t code) const;
};

// Binds the device functions; returns the names of the required ones the library lacks, ", "
// separated ("" when none is missing).
std::string bind_nvml_device_api(const SharedLibrary& library, NvmlDeviceApi& api);
// The error for a library that lacks required functions.
std::string nvml_missing_functions_error(const SharedLibrary& library, const std::string& missing);
// A device string (name, UUID) through `get`, or "" when it fails.
std::string nvml_device_string(nvmlDevice_t handle, nvmlReturn_t (*get)(nvmlDevice_t, char*, unsigned));

}  // namespace carbonmeter
