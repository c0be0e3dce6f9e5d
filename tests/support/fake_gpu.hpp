// The fake NVML / ROCm SMI libraries' state, written by a test: see tests/fakes/fake_gpu_state.h.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace carbonmeter::testing {

struct FakeGpuDevice {
  unsigned index = 0;
  std::string uuid;
  std::string name = "NVIDIA H100 80GB HBM3";
  unsigned long long energy_mj = 1000;
  unsigned power_mw = 250000;
  bool counter = true;
  bool mig = false;
  std::string mig_uuid;
  bool lost = false;
  bool procutil = true;
  // Power limits in mW (0: not supported); see tests/fakes/fake_gpu_state.h.
  unsigned min_limit_mw = 0, max_limit_mw = 0, default_limit_mw = 0, limit_mw = 0;
  bool limit_permission = true;
  unsigned demand_mw = 0;  // >0: the power-limit model
};

struct FakeGpuProcess {
  unsigned gpu = 0;
  unsigned pid = 0;
  unsigned sm = 0;
};

class FakeGpus {
 public:
  // library: the fake library to load (FAKE_NVML_PATH, ...); sets the environment variables.
  explicit FakeGpus(const std::string& library, bool rocm = false);
  ~FakeGpus();
  FakeGpus(const FakeGpus&) = delete;
  FakeGpus& operator=(const FakeGpus&) = delete;

  std::vector<FakeGpuDevice> devices;
  std::vector<FakeGpuProcess> processes;
  // Writes the state (atomically, so the fake sees each write).
  void write() const;
  // The path of the state file; STATE.limits holds the limits set since.
  std::string state_path() const { return dir_ + "/state"; }
  // The limit the GPU on line `line` has now in mW (what was set, else its limit_mw).
  unsigned power_limit_mw(std::size_t line) const;

 private:
  std::string dir_;
  bool rocm_;
};

}  // namespace carbonmeter::testing
