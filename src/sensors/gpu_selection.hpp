// Which GPUs to measure: all, or those named by --gpu-ids or CUDA_VISIBLE_DEVICES (indices and
// UUIDs, in CUDA's syntax: a list cut at its first invalid entry; "" or -1 hides every GPU).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace carbonmeter {

struct GpuSelection {
  bool all = true;
  std::vector<std::string> ids;  // indices ("0") or UUIDs ("GPU-…", "MIG-…")
  std::string source;            // "--gpu-ids", "CUDA_VISIBLE_DEVICES" or "" (all)
};

// gpu_ids: the --gpu-ids value ("" when not given); cuda_visible_devices: the variable's value.
GpuSelection select_gpus(const std::string& gpu_ids, const std::optional<std::string>& cuda_visible_devices);
// From the process environment.
GpuSelection select_gpus(const std::string& gpu_ids);

}  // namespace carbonmeter
