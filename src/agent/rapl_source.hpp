// What the agent reads: RAPL through powercap (every domain found: the clients choose theirs),
// else through the MSRs (package and dram). Probed with the ordinary sensors.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "carbonmeter/result.hpp"
#include "sensors/energy_sensor.hpp"

namespace carbonmeter::agent {

struct RaplSource {
  std::unique_ptr<EnergySensor> sensor;
  std::string detail;              // "reading package-0, package-0/dram, ..."
  std::vector<std::string> notes;  // zones it cannot read, and the like
};

// An error when neither way can read a counter: it names both reasons and how to fix them.
Result<RaplSource> probe_rapl_source();

}  // namespace carbonmeter::agent
