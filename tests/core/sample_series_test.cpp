#include <gtest/gtest.h>

#include "core/sample.hpp"

namespace carbonmeter {
namespace {

TEST(SampleSeries, StaysBoundedAndKeepsTheTotal) {
  SampleSeries series(16);
  double total = 0.0;
  for (int i = 1; i <= 1000; ++i) {
    Sample s;
    s.t_s = i;
    s.dt_s = 1;
    s.energy_j[Component::cpu] = i;
    total += i;
    series.add(s);
  }
  auto points = series.points();
  EXPECT_LE(points.size(), 17u);
  double sum = 0.0, duration = 0.0;
  for (const Sample& p : points) {
    sum += p.energy_j[Component::cpu];
    duration += p.dt_s;
  }
  EXPECT_DOUBLE_EQ(sum, total);
  EXPECT_DOUBLE_EQ(duration, 1000.0);
  EXPECT_DOUBLE_EQ(points.back().t_s, 1000.0);
  EXPECT_GE(series.samples_per_point(), 64u);
}

}  // namespace
}  // namespace carbonmeter
