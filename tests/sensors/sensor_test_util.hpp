// Reading a sensor the way the sampler does, for tests.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "sensors/energy_sensor.hpp"

namespace carbonmeter::testing {

// Energy per "device/domain" from one read of the sensor.
inline std::map<std::string, double> read_channels(EnergySensor& sensor, double elapsed_s,
                                                   SampleContext context = {}) {
  std::vector<ChannelReading> readings(sensor.channels().size());
  context.elapsed_s = elapsed_s;
  sensor.read(context, readings);
  std::map<std::string, double> out;
  for (std::size_t i = 0; i < readings.size(); ++i)
    out[sensor.channels()[i].device + "/" + sensor.channels()[i].domain] += readings[i].energy_j;
  return out;
}

inline std::vector<std::string> channel_names(const EnergySensor& sensor) {
  std::vector<std::string> out;
  for (const Channel& c : sensor.channels()) out.push_back(c.device + "/" + c.domain);
  return out;
}

}  // namespace carbonmeter::testing
