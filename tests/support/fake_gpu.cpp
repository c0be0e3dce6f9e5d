#include "support/fake_gpu.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace carbonmeter::testing {

FakeGpus::FakeGpus(const std::string& library, bool rocm) : rocm_(rocm) {
  char pattern[] = "/tmp/carbonmeter-gpu-XXXXXX";
  if (!::mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  ::setenv("CARBONMETER_FAKE_GPU_STATE", (dir_ + "/state").c_str(), 1);
  ::setenv(rocm_ ? "CARBONMETER_ROCM_SMI_LIBRARY" : "CARBONMETER_NVML_LIBRARY", library.c_str(), 1);
  ::setenv(rocm_ ? "CARBONMETER_NVML_LIBRARY" : "CARBONMETER_ROCM_SMI_LIBRARY", "/nonexistent/libnone.so", 1);
  write();
}

FakeGpus::~FakeGpus() {
  ::unsetenv("CARBONMETER_FAKE_GPU_STATE");
  ::unsetenv("CARBONMETER_NVML_LIBRARY");
  ::unsetenv("CARBONMETER_ROCM_SMI_LIBRARY");
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void FakeGpus::write() const {
  const std::string temporary = dir_ + "/state.tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    for (const FakeGpuDevice& d : devices)
      out << "gpu index=" << d.index
          << " uuid=" << (d.uuid.empty() ? "GPU-" + std::to_string(d.index) : d.uuid)
          << " energy_mj=" << d.energy_mj << " power_mw=" << d.power_mw << " counter=" << d.counter
          << " mig=" << d.mig << (d.mig_uuid.empty() ? "" : " mig_uuid=" + d.mig_uuid) << " lost=" << d.lost
          << " procutil=" << d.procutil << " min_limit_mw=" << d.min_limit_mw
          << " max_limit_mw=" << d.max_limit_mw << " default_limit_mw=" << d.default_limit_mw
          << " limit_mw=" << d.limit_mw << " perm=" << d.limit_permission << " demand_mw=" << d.demand_mw
          << " name=" << d.name << "\n";
    for (const FakeGpuProcess& p : processes)
      out << "proc gpu=" << p.gpu << " pid=" << p.pid << " sm=" << p.sm << "\n";
  }
  std::filesystem::rename(temporary, dir_ + "/state");
}

unsigned FakeGpus::power_limit_mw(std::size_t line) const {
  std::ifstream in(state_path() + ".limits");
  int index = 0;
  unsigned limit = 0;
  while (in >> index >> limit)
    if (index == static_cast<int>(line)) return limit;
  const FakeGpuDevice& device = devices.at(line);
  return device.limit_mw ? device.limit_mw : device.max_limit_mw;
}

}  // namespace carbonmeter::testing
