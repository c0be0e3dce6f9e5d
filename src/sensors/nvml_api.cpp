#include "sensors/nvml_api.hpp"

#include <fmt/format.h>

namespace carbonmeter {

std::string NvmlDeviceApi::error(nvmlReturn_t code) const {
  return error_string ? error_string(code) : fmt::format("NVML error {}", code);
}

std::string bind_nvml_device_api(const SharedLibrary& library, NvmlDeviceApi& api) {
  std::string missing;
  auto need = [&](const char* name, auto& function) {
    if (!library.bind(name, function)) missing += (missing.empty() ? "" : ", ") + std::string(name);
  };
  need("nvmlInit_v2", api.init);
  need("nvmlShutdown", api.shutdown);
  need("nvmlDeviceGetCount_v2", api.count);
  need("nvmlDeviceGetHandleByIndex_v2", api.by_index);
  need("nvmlDeviceGetHandleByUUID", api.by_uuid);
  need("nvmlDeviceGetName", api.name);
  need("nvmlDeviceGetUUID", api.uuid);
  need("nvmlDeviceGetPowerUsage", api.power);
  library.bind("nvmlErrorString", api.error_string);
  library.bind("nvmlDeviceGetIndex", api.index);
  library.bind("nvmlDeviceGetTotalEnergyConsumption", api.energy);
  return missing;
}

std::string nvml_missing_functions_error(const SharedLibrary& library, const std::string& missing) {
  return library.path() + " lacks " + missing + ": the NVIDIA driver is too old or the library is not NVML";
}

std::string nvml_device_string(nvmlDevice_t handle, nvmlReturn_t (*get)(nvmlDevice_t, char*, unsigned)) {
  constexpr unsigned kStringLength = 96;
  char buffer[kStringLength] = {};
  if (!get || get(handle, buffer, kStringLength) != NVML_SUCCESS) return "";
  return buffer;
}

}  // namespace carbonmeter
