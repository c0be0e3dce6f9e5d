#include "optimize/nvml_power_control.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "optimize/limit_restorer.hpp"
#include "sensors/gpu_meter.hpp"
#include "sensors/nvml_api.hpp"
#include "sensors/shared_library.hpp"

namespace carbonmeter {
namespace {

struct LimitApi : NvmlDeviceApi {
  nvmlReturn_t (*constraints)(nvmlDevice_t, unsigned*, unsigned*) = nullptr;
  nvmlReturn_t (*default_limit)(nvmlDevice_t, unsigned*) = nullptr;
  nvmlReturn_t (*limit)(nvmlDevice_t, unsigned*) = nullptr;
  nvmlReturn_t (*set_limit)(nvmlDevice_t, unsigned) = nullptr;
};

Result<LimitApi> bind_limit_api(const SharedLibrary& library) {
  LimitApi api;
  std::string missing = bind_nvml_device_api(library, api);
  auto need = [&](const char* name, auto& function) {
    if (!library.bind(name, function)) missing += (missing.empty() ? "" : ", ") + std::string(name);
  };
  need("nvmlDeviceGetPowerManagementLimitConstraints", api.constraints);
  need("nvmlDeviceGetPowerManagementDefaultLimit", api.default_limit);
  need("nvmlDeviceGetPowerManagementLimit", api.limit);
  need("nvmlDeviceSetPowerManagementLimit", api.set_limit);
  if (!missing.empty()) return Error{nvml_missing_functions_error(library, missing)};
  return api;
}

// Why setting a limit was refused, and what to do about it.
std::string power_limit_permission_error(unsigned gpu_index) {
  return fmt::format(
      "changing the power limit of GPU {} is not allowed: it needs root or the CAP_SYS_ADMIN capability "
      "(run with sudo, or `docker run --cap-add SYS_ADMIN`); --dry-run shows what would be done without "
      "changing anything",
      gpu_index);
}

}  // namespace

class NvmlPowerControl::Impl {
 public:
  Impl(SharedLibrary library, LimitApi api) : library_(std::move(library)), api_(api) {}
  ~Impl() {
    meters_.clear();
    api_.shutdown();
  }
  SharedLibrary library_;
  LimitApi api_;
  std::vector<nvmlDevice_t> handles_;
  std::vector<GpuPowerLimits> gpus_;
  bool started_ = false;
  std::vector<unsigned long long> last_counter_mj_;
  std::vector<std::unique_ptr<GpuMeter>> meters_;  // null where the energy counter is read
};

NvmlPowerControl::NvmlPowerControl(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NvmlPowerControl::~NvmlPowerControl() = default;

Result<std::unique_ptr<NvmlPowerControl>> NvmlPowerControl::open(const GpuSelection& selection) {
  auto library = SharedLibrary::open_overridable("CARBONMETER_NVML_LIBRARY", "libnvidia-ml.so.1");
  if (!library)
    return Error{"no NVIDIA driver library (" + library.error().message +
                 "): power limits are tuned on NVIDIA GPUs with their driver installed"};
  auto api = bind_limit_api(library.value());
  if (!api) return api.error();
  const LimitApi& nvml = api.value();
  if (nvmlReturn_t status = nvml.init(); status != NVML_SUCCESS)
    return Error{"nvmlInit failed: " + nvml.error(status) + "; check that `nvidia-smi` works"};
  auto impl = std::make_unique<Impl>(std::move(library).value(), nvml);

  std::vector<std::string> ids = selection.ids;
  if (selection.all) {
    unsigned count = 0;
    nvml.count(&count);
    for (unsigned i = 0; i < count; ++i) ids.push_back(std::to_string(i));
  }
  for (const std::string& id : ids) {
    if (id.rfind("MIG-", 0) == 0)
      return Error{"GPU " + id +
                   " is a MIG instance: its power limit is the whole GPU's; name the GPU instead"};
    nvmlDevice_t handle = nullptr;
    unsigned index = 0;
    const auto parsed = std::from_chars(id.data(), id.data() + id.size(), index);
    const bool by_index = parsed.ec == std::errc() && parsed.ptr == id.data() + id.size();
    nvmlReturn_t status = by_index ? nvml.by_index(index, &handle) : nvml.by_uuid(id.c_str(), &handle);
    if (status != NVML_SUCCESS)
      return Error{fmt::format("GPU '{}'{} names no GPU here ({})", id,
                               selection.source.empty() ? "" : " (from " + selection.source + ")",
                               nvml.error(status))};
    GpuPowerLimits gpu;
    gpu.index = index;
    if (nvml.index) nvml.index(handle, &gpu.index);
    gpu.name = nvml_device_string(handle, nvml.name);
    gpu.uuid = nvml_device_string(handle, nvml.uuid);
    unsigned min_mw = 0, max_mw = 0, default_mw = 0, current_mw = 0;
    status = nvml.constraints(handle, &min_mw, &max_mw);
    if (status == NVML_SUCCESS) status = nvml.default_limit(handle, &default_mw);
    if (status == NVML_SUCCESS) status = nvml.limit(handle, &current_mw);
    if (status != NVML_SUCCESS)
      return Error{fmt::format(
          "GPU {} ({}) does not report its power limits ({}){}", gpu.index, gpu.name, nvml.error(status),
          status == NVML_ERROR_NOT_SUPPORTED ? ": this GPU's power limit cannot be tuned" : "")};
    gpu.min_w = min_mw / 1000.0;
    gpu.max_w = max_mw / 1000.0;
    gpu.default_w = default_mw / 1000.0;
    gpu.current_w = current_mw / 1000.0;
    impl->handles_.push_back(handle);
    impl->gpus_.push_back(gpu);
  }
  if (impl->gpus_.empty())
    return Error{selection.source.empty() ? "NVML found no GPU" : selection.source + " hides every GPU"};
  return std::unique_ptr<NvmlPowerControl>(new NvmlPowerControl(std::move(impl)));
}

const std::vector<GpuPowerLimits>& NvmlPowerControl::gpus() const { return impl_->gpus_; }

Status NvmlPowerControl::set_limit_w(std::size_t i, double limit_w) {
  SignalsHeld held;
  GpuPowerLimits& gpu = impl_->gpus_.at(i);
  const auto limit_mw = static_cast<unsigned>(std::lround(limit_w * 1000.0));
  const nvmlReturn_t status = impl_->api_.set_limit(impl_->handles_[i], limit_mw);
  if (status == NVML_ERROR_NO_PERMISSION) return Error{power_limit_permission_error(gpu.index)};
  if (status != NVML_SUCCESS)
    return Error{fmt::format("setting GPU {} to {:g} W failed: {} (its limits are {:g}–{:g} W)", gpu.index,
                             limit_w, impl_->api_.error(status), gpu.min_w, gpu.max_w)};
  gpu.current_w = limit_mw / 1000.0;
  return Ok{};
}

bool NvmlPowerControl::set_limit_mw_quietly(std::size_t i, unsigned limit_mw) noexcept {
  if (i >= impl_->handles_.size()) return false;
  return impl_->api_.set_limit(impl_->handles_[i], limit_mw) == NVML_SUCCESS;
}

std::optional<double> NvmlPowerControl::take_energy_j(double elapsed_s) {
  SignalsHeld held;  // the power-polling threads started here inherit it too
  Impl& impl = *impl_;
  const LimitApi* api = &impl.api_;
  if (!impl.started_) {
    impl.started_ = true;
    for (std::size_t i = 0; i < impl.handles_.size(); ++i) {
      nvmlDevice_t handle = impl.handles_[i];
      unsigned long long counter_mj = 0;
      if (api->energy && api->energy(handle, &counter_mj) == NVML_SUCCESS) {
        impl.last_counter_mj_.push_back(counter_mj);
        impl.meters_.push_back(nullptr);
        continue;
      }
      // No counter (before Volta): the power reading integrated on a thread of its own.
      GpuReadFunctions read;
      read.power_w = [api, handle]() -> std::optional<double> {
        unsigned power_mw = 0;
        if (api->power(handle, &power_mw) != NVML_SUCCESS) return std::nullopt;
        return power_mw / 1000.0;
      };
      impl.last_counter_mj_.push_back(0);
      impl.meters_.push_back(
          std::make_unique<GpuMeter>(fmt::format("gpu-{}", impl.gpus_[i].index), "nvml", std::move(read)));
      impl.meters_.back()->read(elapsed_s);
    }
    return 0.0;
  }
  double total_j = 0.0;
  bool complete = true;
  for (std::size_t i = 0; i < impl.handles_.size(); ++i) {
    if (impl.meters_[i]) {
      total_j += impl.meters_[i]->read(elapsed_s);
      continue;
    }
    unsigned long long counter_mj = 0;
    if (api->energy(impl.handles_[i], &counter_mj) != NVML_SUCCESS) {
      complete = false;
      continue;
    }
    if (counter_mj >= impl.last_counter_mj_[i]) total_j += (counter_mj - impl.last_counter_mj_[i]) / 1000.0;
    impl.last_counter_mj_[i] = counter_mj;
  }
  if (!complete) return std::nullopt;
  return total_j;
}

std::string NvmlPowerControl::energy_method() const {
  bool counter = false, power = false;
  for (const auto& meter : impl_->meters_) (meter ? power : counter) = true;
  return counter && power ? "nvml-mixed" : power ? "nvml-power" : "nvml-counter";
}

}  // namespace carbonmeter
