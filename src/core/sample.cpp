#include "core/sample.hpp"

namespace carbonmeter {

SampleSeries::SampleSeries(std::size_t capacity) : capacity_(capacity < 2 ? 2 : capacity) {
  points_.reserve(capacity_);
}

Sample SampleSeries::merge(const Sample& earlier, const Sample& later) {
  Sample out = later;
  out.dt_s = earlier.dt_s + later.dt_s;
  out.energy_j += earlier.energy_j;
  out.machine_energy_j += earlier.machine_energy_j;
  if (out.dt_s > 0) {
    out.cpu_share = (earlier.cpu_share * earlier.dt_s + later.cpu_share * later.dt_s) / out.dt_s;
    out.ram_share = (earlier.ram_share * earlier.dt_s + later.ram_share * later.dt_s) / out.dt_s;
  }
  return out;
}

void SampleSeries::add(const Sample& sample) {
  pending_ = pending_count_ == 0 ? sample : merge(pending_, sample);
  if (++pending_count_ < group_) return;
  pending_count_ = 0;
  if (points_.size() == capacity_) {
    std::size_t kept = 0;
    for (std::size_t i = 0; i + 1 < points_.size(); i += 2)
      points_[kept++] = merge(points_[i], points_[i + 1]);
    points_.resize(kept);
    group_ *= 2;
  }
  points_.push_back(pending_);
}

std::vector<Sample> SampleSeries::points() const {
  std::vector<Sample> out = points_;
  if (pending_count_ > 0) out.push_back(pending_);
  return out;
}

}  // namespace carbonmeter
