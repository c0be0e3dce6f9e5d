#include "sensors/rocm_smi.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <charconv>
#include <cstdlib>
#include <memory>

#include "sensors/gpu_meter.hpp"
#include "sensors/shared_library.hpp"

namespace carbonmeter {
namespace {

// The few ROCm SMI declarations carbonmeter needs (rocm_smi.h is not required to build).
using rsmi_status_t = int;
constexpr rsmi_status_t RSMI_STATUS_SUCCESS = 0;

struct RocmApi {
  rsmi_status_t (*init)(std::uint64_t) = nullptr;
  rsmi_status_t (*shut_down)() = nullptr;
  rsmi_status_t (*count)(std::uint32_t*) = nullptr;
  rsmi_status_t (*name)(std::uint32_t, char*, std::size_t) = nullptr;
  rsmi_status_t (*unique_id)(std::uint32_t, std::uint64_t*) = nullptr;
  rsmi_status_t (*energy)(std::uint32_t, std::uint64_t*, float*, std::uint64_t*) = nullptr;
  rsmi_status_t (*power_ave)(std::uint32_t, std::uint32_t, std::uint64_t*) = nullptr;
};

class RocmSensor final : public EnergySensor {
 public:
  struct Device {
    std::uint32_t index;
    std::unique_ptr<GpuMeter> meter;
  };
  RocmSensor(SharedLibrary library, std::shared_ptr<const RocmApi> api, std::vector<Device> devices,
             std::vector<Channel> channels)
      : library_(std::move(library)),
        api_(std::move(api)),
        devices_(std::move(devices)),
        channels_(std::move(channels)) {}
  ~RocmSensor() override {
    devices_.clear();
    api_->shut_down();
  }
  std::string method() const override { return combined_gpu_method(meters(), "rocm-smi"); }
  std::string kind() const override { return gpu_method_kind(method()); }
  double relative_uncertainty(Component) const override { return worst_gpu_uncertainty(meters()); }
  std::string channel_method(std::size_t channel) const override { return devices_[channel].meter->method(); }
  const std::vector<Channel>& channels() const override { return channels_; }
  ContextNeeds needs() const override { return {false, false, false, true}; }
  void stop() override {
    for (Device& device : devices_) device.meter->stop();
  }
  void read(const SampleContext& context, std::span<ChannelReading> out) override {
    for (std::size_t i = 0; i < devices_.size(); ++i) {
      out[i].energy_j = devices_[i].meter->read(context.elapsed_s);
      // ROCm SMI gives no per-process energy: the whole GPU counts for the tree (said once).
      out[i].process_share = context.tree_pids ? std::optional<double>(1.0) : std::nullopt;
      for (std::string& note : devices_[i].meter->take_notes()) notes_.push_back(std::move(note));
    }
    if (context.tree_pids && !said_whole_gpu_) {
      said_whole_gpu_ = true;
      notes_.push_back(
          "ROCm SMI gives no per-process data: each AMD GPU's whole energy is counted for the process tree");
    }
  }
  std::vector<std::string> take_notes() override { return std::exchange(notes_, {}); }

 private:
  std::vector<const GpuMeter*> meters() const {
    std::vector<const GpuMeter*> out;
    for (const Device& device : devices_) out.push_back(device.meter.get());
    return out;
  }
  SharedLibrary library_;
  std::shared_ptr<const RocmApi> api_;
  std::vector<Device> devices_;
  std::vector<Channel> channels_;
  std::vector<std::string> notes_;
  bool said_whole_gpu_ = false;
};

}  // namespace

ProbeOutcome probe_rocm_smi(const GpuSelection& selection) {
  ProbeOutcome outcome;
  outcome.status.method = "rocm-smi";
  outcome.status.components = "gpu";
  auto library = SharedLibrary::open_overridable("CARBONMETER_ROCM_SMI_LIBRARY", "librocm_smi64.so");
  if (!library) {
    outcome.status.detail = "no ROCm SMI library (" + library.error().message + ")";
    outcome.status.fix =
        "on a machine with AMD GPUs install ROCm (librocm_smi64.so), or point "
        "CARBONMETER_ROCM_SMI_LIBRARY at it";
    return outcome;
  }
  auto api = std::make_shared<RocmApi>();
  std::string missing;
  auto need = [&](const char* name, auto& function) {
    if (!library.value().bind(name, function)) missing += (missing.empty() ? "" : ", ") + std::string(name);
  };
  need("rsmi_init", api->init);
  need("rsmi_shut_down", api->shut_down);
  need("rsmi_num_monitor_devices", api->count);
  need("rsmi_dev_power_ave_get", api->power_ave);
  if (!missing.empty()) {
    outcome.status.detail = library.value().path() + " lacks " + missing;
    outcome.status.fix = "update ROCm";
    return outcome;
  }
  library.value().bind("rsmi_dev_name_get", api->name);
  library.value().bind("rsmi_dev_unique_id_get", api->unique_id);
  library.value().bind("rsmi_dev_energy_count_get", api->energy);
  if (rsmi_status_t status = api->init(0); status != RSMI_STATUS_SUCCESS) {
    outcome.status.detail = fmt::format("rsmi_init failed (status {})", status);
    outcome.status.fix = "check that the amdgpu driver is loaded (`rocm-smi` must work)";
    return outcome;
  }
  std::uint32_t count = 0;
  api->count(&count);
  std::vector<std::uint32_t> indices;
  std::vector<std::string> problems;
  if (selection.all) {
    for (std::uint32_t i = 0; i < count; ++i) indices.push_back(i);
  } else {
    for (const std::string& id : selection.ids) {
      std::uint32_t index = 0;
      if (std::from_chars(id.data(), id.data() + id.size(), index).ec == std::errc() && index < count)
        indices.push_back(index);
      else
        problems.push_back(selection.source + " '" + id + "' names no AMD GPU here (indices 0-" +
                           std::to_string(count == 0 ? 0 : count - 1) + ")");
    }
  }
  std::vector<RocmSensor::Device> devices;
  std::vector<Channel> channels;
  std::string detail;
  for (std::uint32_t index : indices) {
    char name[128] = "AMD GPU";
    if (api->name) api->name(index, name, sizeof name);
    std::uint64_t id = 0;
    std::string uuid =
        api->unique_id && api->unique_id(index, &id) == RSMI_STATUS_SUCCESS ? fmt::format("0x{:x}", id) : "";
    GpuReadFunctions read;
    std::uint64_t counter = 0, timestamp = 0;
    float resolution_uj = 0.0f;
    if (api->energy && api->energy(index, &counter, &resolution_uj, &timestamp) == RSMI_STATUS_SUCCESS &&
        resolution_uj > 0) {
      read.energy_counter = [api, index]() -> std::optional<std::uint64_t> {
        std::uint64_t value = 0, when = 0;
        float resolution = 0.0f;
        if (api->energy(index, &value, &resolution, &when) != RSMI_STATUS_SUCCESS) return std::nullopt;
        return value;
      };
      read.joules_per_unit = resolution_uj * 1e-6;
    }
    read.power_w = [api, index]() -> std::optional<double> {
      std::uint64_t power_uw = 0;
      if (api->power_ave(index, 0, &power_uw) != RSMI_STATUS_SUCCESS) return std::nullopt;
      return static_cast<double>(power_uw) / 1e6;
    };
    const std::string label = fmt::format("gpu-{}", index);
    auto meter = std::make_unique<GpuMeter>(label, "rocm-smi", std::move(read));
    detail += fmt::format("{}{} {} ({})", detail.empty() ? "" : "; ", label, name, meter->method());
    channels.push_back({Component::gpu, label, "gpu", name, uuid});
    devices.push_back({index, std::move(meter)});
  }
  if (devices.empty()) {
    api->shut_down();
    outcome.status.detail =
        problems.empty() ? "ROCm SMI found no GPU" : fmt::format("{}", fmt::join(problems, "; "));
    return outcome;
  }
  outcome.status.found = true;
  outcome.status.detail = detail;
  outcome.status.missing = fmt::format("{}", fmt::join(problems, "; "));
  outcome.sensor =
      std::make_unique<RocmSensor>(std::move(library).value(), api, std::move(devices), std::move(channels));
  return outcome;
}

}  // namespace carbonmeter
