#include "sensors/gpu_selection.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <sstream>

namespace carbonmeter {
namespace {

std::vector<std::string> parse_list(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream stream(list);
  std::string item;
  while (std::getline(stream, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    const bool index = !item.empty() && std::all_of(item.begin(), item.end(), ::isdigit);
    const bool uuid = item.rfind("GPU-", 0) == 0 || item.rfind("MIG-", 0) == 0;
    if (!index && !uuid) break;  // CUDA ignores the rest of the list from an invalid entry on
    out.push_back(item);
  }
  return out;
}

}  // namespace

GpuSelection select_gpus(const std::string& gpu_ids, const std::optional<std::string>& cuda_visible_devices) {
  GpuSelection selection;
  if (!gpu_ids.empty()) {
    selection = {false, parse_list(gpu_ids), "--gpu-ids"};
  } else if (cuda_visible_devices) {
    selection = {false, parse_list(*cuda_visible_devices), "CUDA_VISIBLE_DEVICES"};
  }
  return selection;
}

GpuSelection select_gpus(const std::string& gpu_ids) {
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  return select_gpus(gpu_ids, visible ? std::optional<std::string>(visible) : std::nullopt);
}

}  // namespace carbonmeter
