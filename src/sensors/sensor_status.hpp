// What probing one sensor found: shown by `carbonmeter hardware`, and in notes when it falls back.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sensors/energy_sensor.hpp"

namespace carbonmeter {

struct SensorStatus {
  std::string method;      // "rapl-powercap"
  std::string components;  // "cpu, ram"
  bool found = false;      // usable on this machine
  std::string detail;      // what was found, or why not
  std::string fix;         // how to make it usable, when it is not
  std::string missing;     // found, but some of its channels cannot be read (and why)
};

struct ProbeOutcome {
  std::unique_ptr<EnergySensor> sensor;  // null when not usable
  SensorStatus status;
  std::vector<std::string> notes;  // things a run must say when this sensor is used
};

}  // namespace carbonmeter
