#include "core/roots.hpp"

#include <cstdlib>
#include <filesystem>

namespace carbonmeter {
namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value && *value ? std::string(value) : std::string(fallback);
}

}  // namespace

std::string sysfs_root() { return env_or("CARBONMETER_SYSFS_ROOT", "/sys"); }
std::string procfs_root() { return env_or("CARBONMETER_PROCFS_ROOT", "/proc"); }
std::string dev_root() { return env_or("CARBONMETER_DEV_ROOT", "/dev"); }

std::string data_dir() {
  if (const char* value = std::getenv("CARBONMETER_DATA_DIR"); value && *value) return value;
  std::error_code ec;
  if (std::filesystem::exists(CARBONMETER_INSTALLED_DATA_DIR "/cpu_tdp.csv", ec))
    return CARBONMETER_INSTALLED_DATA_DIR;
  return CARBONMETER_SOURCE_DATA_DIR;
}

}  // namespace carbonmeter
