// One interval's energy, and the downsampling store that keeps the report's time series bounded.
#pragma once

#include <cstddef>
#include <vector>

#include "carbonmeter/measurement.hpp"

namespace carbonmeter {

struct Sample {
  double t_s = 0.0;          // end of the interval, seconds since the run started
  double dt_s = 0.0;         // length of the interval
  EnergyJ energy_j;          // attributed to the scope
  EnergyJ machine_energy_j;  // the whole machine
  double cpu_share = 1.0;    // scope's share of CPU energy in this interval
  double ram_share = 1.0;
};

// Keeps at most `capacity` points: when full, neighbours are merged in pairs and later samples
// are merged in groups twice as large, so memory stays flat on runs of any length.
class SampleSeries {
 public:
  explicit SampleSeries(std::size_t capacity = 4096);
  void add(const Sample& sample);
  // The points, with a partly filled last group included.
  std::vector<Sample> points() const;
  std::size_t samples_per_point() const { return group_; }

 private:
  static Sample merge(const Sample& earlier, const Sample& later);
  std::size_t capacity_;
  std::size_t group_ = 1;
  std::vector<Sample> points_;
  Sample pending_;
  std::size_t pending_count_ = 0;
};

}  // namespace carbonmeter
