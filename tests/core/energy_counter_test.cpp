#include "core/energy_counter.hpp"

#include <gtest/gtest.h>

namespace carbonmeter {
namespace {

TEST(EnergyCounter, FirstReadingIsTheBaseline) {
  EnergyCounter counter(1e-6, 1'000'000'000, 1000);
  CounterDelta first = counter.update(500'000'000, 0.0);
  EXPECT_EQ(first.event, CounterEvent::first);
  EXPECT_DOUBLE_EQ(first.energy_j, 0.0);
}

TEST(EnergyCounter, CountsGrowthInJoules) {
  EnergyCounter counter(1e-6, 1'000'000'000, 1000);
  (void)counter.update(100'000'000, 0.0);
  CounterDelta delta = counter.update(150'000'000, 1.0);
  EXPECT_EQ(delta.event, CounterEvent::none);
  EXPECT_DOUBLE_EQ(delta.energy_j, 50.0);
}

TEST(EnergyCounter, WrapAddsTheTopOfTheRange) {
  EnergyCounter counter(1e-6, 999'999'999, 1000);  // 0 follows 999.999999 J
  (void)counter.update(990'000'000, 0.0);
  CounterDelta delta = counter.update(40'000'000, 1.0);  // 10 J to the top + 40 J after
  EXPECT_EQ(delta.event, CounterEvent::wrap);
  EXPECT_DOUBLE_EQ(delta.energy_j, 50.0);
}

TEST(EnergyCounter, ImplausibleWrapIsAResetAndNeverNegative) {
  EnergyCounter counter(1e-6, 262'143'328'850, 1000);
  (void)counter.update(200'000'000'000, 0.0);
  CounterDelta delta = counter.update(3'000'000, 1.0);  // back near zero after 1 s: a reset
  EXPECT_EQ(delta.event, CounterEvent::reset);
  EXPECT_DOUBLE_EQ(delta.energy_j, 3.0);
  CounterDelta after = counter.update(5'000'000, 1.0);
  EXPECT_DOUBLE_EQ(after.energy_j, 2.0);
}

TEST(EnergyCounter, ResetToALargeValueCountsNothing) {
  EnergyCounter counter(1e-6, 262'143'328'850, 1000);
  (void)counter.update(200'000'000'000, 0.0);
  CounterDelta delta = counter.update(100'000'000'000, 1.0);
  EXPECT_EQ(delta.event, CounterEvent::reset);
  EXPECT_DOUBLE_EQ(delta.energy_j, 0.0);
}

TEST(EnergyCounter, ImpossibleJumpsCountNothing) {
  EnergyCounter counter(1e-6, 262'143'328'850, 1000);
  (void)counter.update(100'000'000, 0.0);
  CounterDelta jump = counter.update(99'999'999'999, 1.0);  // 100 kJ in 1 s: 100 kW
  EXPECT_EQ(jump.event, CounterEvent::glitch);
  EXPECT_DOUBLE_EQ(jump.energy_j, 0.0);
  EXPECT_EQ(counter.update(300'000'000'000, 1.0).event, CounterEvent::glitch);  // beyond the range
}

TEST(EnergyCounter, MissedReadsWidenThePlausibleWindow) {
  EnergyCounter counter(1e-6, 262'143'328'850, 1000);
  (void)counter.update(0, 0.0);
  for (int i = 0; i < 9; ++i) counter.missed(1.0);
  CounterDelta delta = counter.update(5'000'000'000, 1.0);  // 5 kJ over 10 s: 500 W, fine
  EXPECT_EQ(delta.event, CounterEvent::none);
  EXPECT_DOUBLE_EQ(delta.energy_j, 5000.0);
}

TEST(EnergyCounter, ShortestWrapTimeFollowsRangeAndPower) {
  EnergyCounter msr32(1.0 / 65536, 0xFFFFFFFF, 1000);
  EXPECT_NEAR(msr32.shortest_wrap_time_s(), 65.536, 0.01);
}

}  // namespace
}  // namespace carbonmeter
