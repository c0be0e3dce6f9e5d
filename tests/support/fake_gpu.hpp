// The fake NVML / ROCm SMI libraries' state, written by a test: see tests/fakes/fake_gpu_state.h.
#pragma once

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

 private:
  std::string dir_;
  bool rocm_;
};

}  // namespace carbonmeter::testing
