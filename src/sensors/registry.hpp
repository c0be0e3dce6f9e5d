// Every sensor carbonmeter knows, listed explicitly, and the choice per component: a hardware
// counter first, then integrated power, then an estimate.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "carbonmeter/result.hpp"
#include "sensors/sensor_status.hpp"

namespace carbonmeter {

struct SensorOptions {
  std::string rapl_domains;  // --rapl-domains; "" = package,dram
  bool probe_all = false;    // probe every sensor, even those a better one makes unnecessary
  std::string gpu_ids;       // --gpu-ids; "" = CUDA_VISIBLE_DEVICES, else all GPUs
};

struct ActiveSensor {
  std::unique_ptr<EnergySensor> sensor;
  PerComponent<bool> counted;  // the components this sensor's channels are counted for
};

struct SensorSet {
  std::vector<ActiveSensor> sensors;   // the ones sampled
  std::vector<SensorStatus> statuses;  // every sensor, found or not
  PerComponent<MethodInfo> methods;    // what each component is measured with
  std::vector<std::string> notes;      // fallbacks the user must hear about
};

Result<SensorSet> probe_sensors(const SensorOptions& options);

}  // namespace carbonmeter
