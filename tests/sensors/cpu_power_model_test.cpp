#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/proc_stat.hpp"
#include "core/roots.hpp"
#include "sensors/cpu_estimate.hpp"
#include "sensors/cpu_power_curve.hpp"
#include "sensors/cpu_tdp_table.hpp"
#include "support/fake_root.hpp"

namespace carbonmeter {
namespace {

TEST(CpuName, NormalisationDropsMarketingNoise) {
  EXPECT_EQ(normalize_cpu_name("Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz"), "intel xeon e5-2686 v4");
  EXPECT_EQ(normalize_cpu_name("AMD EPYC 7763 64-Core Processor"), "amd epyc 7763");
  EXPECT_EQ(normalize_cpu_name("AMD Ryzen 7 PRO 4750U with Radeon Graphics"), "amd ryzen 7 pro 4750u");
}

class ShippedTable : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = CpuTdpTable::load(data_dir() + "/cpu_tdp.csv");
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    table_ = std::move(loaded).value();
  }
  CpuTdpTable table_;
};

TEST_F(ShippedTable, MatchesRealCpuinfoNames) {
  auto xeon = table_.match("Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz");
  ASSERT_TRUE(xeon);
  EXPECT_DOUBLE_EQ(xeon->tdp_w, 145.0);
  auto epyc = table_.match("AMD EPYC 7763 64-Core Processor");
  ASSERT_TRUE(epyc);
  EXPECT_DOUBLE_EQ(epyc->tdp_w, 280.0);
  auto threadripper = table_.match("AMD Ryzen Threadripper 1950X 16-Core Processor");
  ASSERT_TRUE(threadripper);
  EXPECT_DOUBLE_EQ(threadripper->tdp_w, 180.0);
}

TEST_F(ShippedTable, UnknownOrVagueNamesDoNotMatch) {
  EXPECT_FALSE(table_.match("AMD EPYC"));
  EXPECT_FALSE(table_.match("QEMU Virtual CPU version 2.5+"));
  EXPECT_FALSE(table_.match(""));
}

TEST(PowerCurve, InterpolatesLinearlyBlendsAndClamps) {
  testing::FakeRoot root("");
  root.write("curve.csv",
             "utilization_pct,fraction_of_tdp_spread,fraction_of_tdp_concentrated\n0,0.1,0.1\n50,0.5,0."
             "7\n100,0.9,0.9\n");
  auto curve = PowerCurve::load(root.path() + "/curve.csv");
  ASSERT_TRUE(curve.ok()) << curve.error().message;
  EXPECT_DOUBLE_EQ(curve.value().fraction_of_tdp(0.25, 0.0), 0.3);
  EXPECT_DOUBLE_EQ(curve.value().fraction_of_tdp(0.25, 1.0), 0.4);
  EXPECT_DOUBLE_EQ(curve.value().fraction_of_tdp(0.5, 0.5), 0.6);
  EXPECT_DOUBLE_EQ(curve.value().fraction_of_tdp(1.5, 0.0), 0.9);
  EXPECT_DOUBLE_EQ(curve.value().fraction_of_tdp(-1, 2.0), 0.1);
  root.write("bad.csv", "u,f\n1,2\n");
  EXPECT_FALSE(PowerCurve::load(root.path() + "/bad.csv").ok());
}

TEST(LoadConcentration, ZeroWhenEvenOneWhenAllOrNothing) {
  EXPECT_DOUBLE_EQ(load_concentration({{0.5, 0.5}, {0.5, 0.5}}), 0.0);
  EXPECT_DOUBLE_EQ(load_concentration({{1.0, 0.0}, {0.0, 1.0}}), 1.0);
  EXPECT_DOUBLE_EQ(load_concentration({{0.0, 1.0}, {0.0, 1.0}}), 0.0);  // idle: no spread to measure
  EXPECT_NEAR(load_concentration({{0.75, 0.25}, {0.25, 0.75}}), 0.25, 1e-12);
}

// The whole estimate on a fake machine: 4 CPUs, 2 fully busy and 2 idle for 10 s.
TEST(CpuEstimate, EnergyIsTdpTimesTheCurveTimesTime) {
  testing::FakeRoot root("vm_no_rapl");
  auto cpu = read_cpuinfo();
  ASSERT_TRUE(cpu.ok());
  ProbeOutcome probe = probe_cpu_estimate(cpu.value());
  ASSERT_TRUE(probe.sensor) << probe.status.detail;
  EXPECT_THAT(probe.status.detail, ::testing::HasSubstr("e5-2686 v4"));
  SampleContext context;
  context.elapsed_s = 10.0;
  context.cpu_time_delta.busy_s = 20.0;
  context.cpu_time_delta.idle_s = 20.0;
  context.cpu_time_delta.per_cpu = {{10, 0}, {10, 0}, {0, 10}, {0, 10}};
  std::vector<ChannelReading> out(1);
  probe.sensor->read(context, out);
  auto curve = PowerCurve::load(data_dir() + "/cpu_power_model.csv");
  ASSERT_TRUE(curve.ok());
  // 2 of the E5-2686 v4's 36 threads are visible here (a VM): its share of the 145 W TDP.
  const double expected_j = 145.0 * 2.0 / 36.0 * curve.value().fraction_of_tdp(0.5, 1.0) * 10.0;
  EXPECT_NEAR(out[0].energy_j, expected_j, 1e-9);
  EXPECT_GT(probe.sensor->relative_uncertainty(Component::cpu), 0.1);
}

}  // namespace
}  // namespace carbonmeter
