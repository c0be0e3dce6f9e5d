#include "sensors/nvml.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <map>
#include <memory>

#include "sensors/gpu_meter.hpp"
#include "sensors/nvml_api.hpp"
#include "sensors/shared_library.hpp"

namespace carbonmeter {
namespace {

struct nvmlProcessUtilizationSample_t {
  unsigned int pid;
  unsigned long long timeStamp;
  unsigned int smUtil, memUtil, encUtil, decUtil;
};
struct nvmlProcessInfo_t {
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId, computeInstanceId;
};

// The layouts NVML's ABI fixes (nvml.h): checked here because the test fakes share these
// declarations and could not catch a mistake.
static_assert(sizeof(nvmlProcessUtilizationSample_t) == 32 &&
              offsetof(nvmlProcessUtilizationSample_t, timeStamp) == 8);
static_assert(sizeof(nvmlProcessInfo_t) == 24 && offsetof(nvmlProcessInfo_t, usedGpuMemory) == 8);

struct NvmlApi : NvmlDeviceApi {
  // Optional: older drivers or GPUs lack them.
  nvmlReturn_t (*mig_mode)(nvmlDevice_t, unsigned*, unsigned*) = nullptr;
  nvmlReturn_t (*mig_parent)(nvmlDevice_t, nvmlDevice_t*) = nullptr;
  // Processes with a context: compute, graphics and MPS clients (v3, or v2 on older drivers: the
  // same layout).
  nvmlReturn_t (*processes)(nvmlDevice_t, unsigned*, nvmlProcessInfo_t*) = nullptr;
  nvmlReturn_t (*graphics_processes)(nvmlDevice_t, unsigned*, nvmlProcessInfo_t*) = nullptr;
  nvmlReturn_t (*mps_processes)(nvmlDevice_t, unsigned*, nvmlProcessInfo_t*) = nullptr;
  nvmlReturn_t (*utilization)(nvmlDevice_t, nvmlProcessUtilizationSample_t*, unsigned*,
                              unsigned long long) = nullptr;
};

Result<NvmlApi> bind_api(const SharedLibrary& library) {
  NvmlApi api;
  if (std::string missing = bind_nvml_device_api(library, api); !missing.empty())
    return Error{nvml_missing_functions_error(library, missing)};
  library.bind("nvmlDeviceGetMigMode", api.mig_mode);
  library.bind("nvmlDeviceGetDeviceHandleFromMigDeviceHandle", api.mig_parent);
  if (!library.bind("nvmlDeviceGetComputeRunningProcesses_v3", api.processes))
    library.bind("nvmlDeviceGetComputeRunningProcesses_v2", api.processes);
  if (!library.bind("nvmlDeviceGetGraphicsRunningProcesses_v3", api.graphics_processes))
    library.bind("nvmlDeviceGetGraphicsRunningProcesses_v2", api.graphics_processes);
  if (!library.bind("nvmlDeviceGetMPSComputeRunningProcesses_v3", api.mps_processes))
    library.bind("nvmlDeviceGetMPSComputeRunningProcesses_v2", api.mps_processes);
  library.bind("nvmlDeviceGetProcessUtilization", api.utilization);
  return api;
}

struct NvmlDevice {
  nvmlDevice_t handle = nullptr;
  unsigned index = 0;
  std::string uuid;
  std::string name;
  std::unique_ptr<GpuMeter> meter;
  unsigned long long last_seen_us = 0;
  bool said_whole_gpu = false;
  bool said_other_namespace = false;
  double last_share = 1.0;
  bool share_known = false;
  std::vector<unsigned> previous_context_pids;
};

class NvmlSensor final : public EnergySensor {
 public:
  NvmlSensor(SharedLibrary library, std::shared_ptr<const NvmlApi> api, std::vector<NvmlDevice> devices)
      : library_(std::move(library)), api_(std::move(api)), devices_(std::move(devices)) {
    for (const NvmlDevice& device : devices_)
      channels_.push_back(
          {Component::gpu, fmt::format("gpu-{}", device.index), "gpu", device.name, device.uuid});
  }
  ~NvmlSensor() override {
    devices_.clear();  // meters stop their threads before NVML goes
    api_->shutdown();
  }
  std::string method() const override { return combined_gpu_method(meters(), "nvml"); }
  std::string kind() const override { return gpu_method_kind(method()); }
  double relative_uncertainty(Component) const override { return worst_gpu_uncertainty(meters()); }
  std::string channel_method(std::size_t channel) const override { return devices_[channel].meter->method(); }
  const std::vector<Channel>& channels() const override { return channels_; }
  ContextNeeds needs() const override { return {false, false, false, true}; }
  void flush() override { flushing_ = true; }
  void stop() override {
    for (NvmlDevice& device : devices_) device.meter->stop();
  }

  void read(const SampleContext& context, std::span<ChannelReading> out) override {
    for (std::size_t i = 0; i < devices_.size(); ++i) {
      NvmlDevice& device = devices_[i];
      out[i].energy_j = device.meter->read(context.elapsed_s);
      if (context.tree_pids) {
        // The last read comes after the command has exited: its contexts are gone, so the share
        // of the read before stands for it.
        if (!flushing_ || !device.share_known) {
          device.last_share = process_share(device, *context.tree_pids);
          device.share_known = true;
        }
        out[i].process_share = device.last_share;
      } else {
        out[i].process_share.reset();
      }
      for (std::string& note : device.meter->take_notes()) notes_.push_back(std::move(note));
    }
  }
  std::vector<std::string> take_notes() override { return std::exchange(notes_, {}); }

 private:
  std::vector<const GpuMeter*> meters() const {
    std::vector<const GpuMeter*> out;
    for (const NvmlDevice& device : devices_) out.push_back(device.meter.get());
    return out;
  }
  // The tree's share of the GPU: none without a context on it; else its share of the SM
  // utilisation samples since the last read; else its share of the processes with a context;
  // the whole GPU (said once) when the driver gives no per-process data.
  // Every process with a context on the device (compute, graphics, MPS clients), or nullopt
  // when the driver cannot say.
  std::optional<std::vector<unsigned>> context_pids(nvmlDevice_t handle) {
    std::optional<std::vector<unsigned>> all;
    for (auto list : {api_->processes, api_->graphics_processes, api_->mps_processes}) {
      if (!list) continue;
      std::vector<nvmlProcessInfo_t> infos;
      unsigned count = 0;
      nvmlReturn_t status = list(handle, &count, nullptr);
      for (int attempt = 0; status == NVML_ERROR_INSUFFICIENT_SIZE && attempt < 3; ++attempt) {
        infos.resize(count + 8);  // room for processes that start between the two calls
        count = static_cast<unsigned>(infos.size());
        status = list(handle, &count, infos.data());
      }
      if (status != NVML_SUCCESS) continue;
      if (!all) all.emplace();
      for (unsigned k = 0; k < count && k < infos.size(); ++k) all->push_back(infos[k].pid);
    }
    return all;
  }

  // The tree's share of the GPU: its share of the SM utilisation samples since the last read;
  // without samples, its share of the processes with a context (seen now or at the last read, so
  // a process that just ended still counts); none without a context; the whole GPU (said once)
  // when the driver gives no per-process data or its pids are of another pid namespace.
  double process_share(NvmlDevice& device, const std::vector<pid_t>& tree) {
    auto in_tree = [&](unsigned pid) {
      return std::find(tree.begin(), tree.end(), static_cast<pid_t>(pid)) != tree.end();
    };
    if (device.last_seen_us == 0)
      device.last_seen_us =
          static_cast<unsigned long long>(std::chrono::duration_cast<std::chrono::microseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());
    if (api_->utilization) {
      unsigned count = 0;
      nvmlReturn_t status = api_->utilization(device.handle, nullptr, &count, device.last_seen_us);
      std::vector<nvmlProcessUtilizationSample_t> samples;
      for (int attempt = 0; status == NVML_ERROR_INSUFFICIENT_SIZE && count > 0 && attempt < 3; ++attempt) {
        samples.resize(count + 8);
        count = static_cast<unsigned>(samples.size());
        status = api_->utilization(device.handle, samples.data(), &count, device.last_seen_us);
      }
      if (status == NVML_SUCCESS) {
        double mine = 0.0, all = 0.0;
        for (unsigned k = 0; k < count && k < samples.size(); ++k) {
          all += samples[k].smUtil;
          if (in_tree(samples[k].pid)) mine += samples[k].smUtil;
          device.last_seen_us = std::max(device.last_seen_us, samples[k].timeStamp);
        }
        if (all > 0) return mine / all;
      }
    }
    auto contexts = context_pids(device.handle);
    if (contexts) {
      std::vector<unsigned> seen = *contexts;
      for (unsigned pid : device.previous_context_pids)
        if (std::find(seen.begin(), seen.end(), pid) == seen.end()) seen.push_back(pid);
      device.previous_context_pids = *contexts;
      int mine = 0;
      bool foreign_namespace = !seen.empty();
      for (unsigned pid : seen) {
        mine += in_tree(pid);
        foreign_namespace = foreign_namespace && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
      }
      if (mine > 0) return static_cast<double>(mine) / static_cast<double>(seen.size());
      if (!foreign_namespace) return 0.0;  // the tree has no context here
      if (!device.said_other_namespace) {
        device.said_other_namespace = true;
        notes_.push_back(
            fmt::format("gpu-{}: NVML lists processes that do not exist here (another pid namespace, "
                        "e.g. a container): the whole GPU's energy is counted for the process tree",
                        device.index));
      }
      return 1.0;
    }
    if (!device.said_whole_gpu) {
      device.said_whole_gpu = true;
      notes_.push_back(
          fmt::format("gpu-{}: the driver gives no per-process data: the whole GPU's energy is "
                      "counted for the process tree",
                      device.index));
    }
    return 1.0;
  }

  SharedLibrary library_;
  std::shared_ptr<const NvmlApi> api_;
  std::vector<NvmlDevice> devices_;
  std::vector<Channel> channels_;
  std::vector<std::string> notes_;
  bool flushing_ = false;
};

}  // namespace

ProbeOutcome probe_nvml(const GpuSelection& selection) {
  ProbeOutcome outcome;
  outcome.status.method = "nvml";
  outcome.status.components = "gpu";
  auto library = SharedLibrary::open_overridable("CARBONMETER_NVML_LIBRARY", "libnvidia-ml.so.1");
  if (!library) {
    outcome.status.detail = "no NVIDIA driver library (" + library.error().message + ")";
    outcome.status.fix =
        "on a machine with NVIDIA GPUs install the driver (libnvidia-ml.so.1 comes with it), or "
        "point CARBONMETER_NVML_LIBRARY at it";
    return outcome;
  }
  auto api = bind_api(library.value());
  if (!api) {
    outcome.status.detail = api.error().message;
    outcome.status.fix = "update the NVIDIA driver";
    return outcome;
  }
  auto shared_api = std::make_shared<const NvmlApi>(api.value());
  const NvmlApi& nvml = *shared_api;
  if (nvmlReturn_t status = nvml.init(); status != NVML_SUCCESS) {
    outcome.status.detail = "nvmlInit failed: " + nvml.error(status);
    outcome.status.fix = "check that the NVIDIA driver is loaded (`nvidia-smi` must work)";
    return outcome;
  }

  // The handles to measure, in the order asked for; MIG instances stand for their parent GPU.
  std::vector<nvmlDevice_t> handles;
  std::vector<std::string> problems, notes;
  if (selection.all) {
    unsigned count = 0;
    nvml.count(&count);
    for (unsigned i = 0; i < count; ++i) {
      nvmlDevice_t handle = nullptr;
      if (nvml.by_index(i, &handle) == NVML_SUCCESS)
        handles.push_back(handle);
      else
        problems.push_back(fmt::format("GPU {} cannot be opened", i));
    }
  } else {
    for (const std::string& id : selection.ids) {
      nvmlDevice_t handle = nullptr;
      unsigned index = 0;
      const bool by_index = std::from_chars(id.data(), id.data() + id.size(), index).ec == std::errc();
      nvmlReturn_t status = by_index ? nvml.by_index(index, &handle) : nvml.by_uuid(id.c_str(), &handle);
      if (status != NVML_SUCCESS) {
        problems.push_back(
            fmt::format("{} '{}' names no GPU here ({})", selection.source, id, nvml.error(status)));
        continue;
      }
      if (id.rfind("MIG-", 0) == 0) {
        nvmlDevice_t parent = nullptr;
        if (!nvml.mig_parent || nvml.mig_parent(handle, &parent) != NVML_SUCCESS) {
          problems.push_back("MIG instance " + id +
                             " cannot be mapped to its GPU by this driver: not measured");
          continue;
        }
        handle = parent;
      }
      if (std::find(handles.begin(), handles.end(), handle) == handles.end()) handles.push_back(handle);
    }
  }

  std::vector<NvmlDevice> devices;
  for (nvmlDevice_t handle : handles) {
    NvmlDevice device;
    device.handle = handle;
    device.index = static_cast<unsigned>(devices.size());  // when the driver cannot say
    if (nvml.index) nvml.index(handle, &device.index);
    device.uuid = nvml_device_string(handle, nvml.uuid);
    device.name = nvml_device_string(handle, nvml.name);
    unsigned mig = 0, pending = 0;
    if (nvml.mig_mode && nvml.mig_mode(handle, &mig, &pending) == NVML_SUCCESS && mig == 1)
      notes.push_back(
          fmt::format("gpu-{} ({}) is in MIG mode: NVML gives no energy per MIG instance, so the "
                      "whole GPU is measured",
                      device.index, device.uuid));
    GpuReadFunctions read;
    auto lost = std::make_shared<std::atomic<bool>>(false);
    std::shared_ptr<const NvmlApi> calls = shared_api;
    auto check = [lost](nvmlReturn_t status) {
      if (status == NVML_ERROR_GPU_IS_LOST) lost->store(true, std::memory_order_release);
      return status == NVML_SUCCESS;
    };
    unsigned long long probe_energy = 0;
    if (nvml.energy && nvml.energy(handle, &probe_energy) == NVML_SUCCESS) {
      read.energy_counter = [calls, handle, check]() -> std::optional<std::uint64_t> {
        unsigned long long energy_mj = 0;
        if (!check(calls->energy(handle, &energy_mj))) return std::nullopt;
        return energy_mj;
      };
      read.joules_per_unit = 1e-3;
    }
    read.power_w = [calls, handle, check]() -> std::optional<double> {
      unsigned power_mw = 0;
      if (!check(calls->power(handle, &power_mw))) return std::nullopt;
      return power_mw / 1000.0;
    };
    read.lost = lost;
    device.meter = std::make_unique<GpuMeter>(fmt::format("gpu-{}", device.index), "nvml", std::move(read));
    devices.push_back(std::move(device));
  }
  if (devices.empty()) {
    nvml.shutdown();
    outcome.status.detail =
        problems.empty() ? "NVML found no GPU" : fmt::format("{}", fmt::join(problems, "; "));
    if (!selection.all && selection.ids.empty())
      outcome.status.detail = selection.source + " hides every GPU";
    return outcome;
  }
  std::string detail;
  for (const NvmlDevice& device : devices)
    detail += fmt::format("{}gpu-{} {} ({}, {})", detail.empty() ? "" : "; ", device.index, device.name,
                          device.uuid, device.meter->method());
  outcome.status.found = true;
  outcome.status.detail = detail;
  outcome.status.missing = fmt::format("{}", fmt::join(problems, "; "));
  outcome.notes = notes;
  outcome.sensor = std::make_unique<NvmlSensor>(std::move(library).value(), shared_api, std::move(devices));
  return outcome;
}

}  // namespace carbonmeter
