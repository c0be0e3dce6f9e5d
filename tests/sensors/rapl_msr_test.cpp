#include "sensors/rapl_msr.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sensors/sensor_test_util.hpp"
#include "support/fake_root.hpp"

namespace carbonmeter {
namespace {

using testing::channel_names;
using ::testing::ElementsAre;
using testing::FakeRoot;
using testing::read_channels;

CpuInfo intel_server() { return {"Intel(R) Xeon(R) Gold 6230", "GenuineIntel", 6, 85, 8, 2}; }
CpuInfo amd() { return {"AMD EPYC 7763", "AuthenticAMD", 25, 1, 8, 2}; }

// Energy status unit 14 (2^-14 J = 61 µJ), as on most Intel parts.
constexpr std::uint64_t kUnitsEsu14 = 0xA0E03;

TEST(RaplMsr, IntelOneCpuPerSocketPackageAndDram) {
  FakeRoot root("intel_server_2s");  // topology: cpus 0-3 on socket 0, 4-7 on socket 1
  for (int cpu : {0, 4}) {
    root.set_msr(cpu, msr::kIntelPowerUnit, kUnitsEsu14);
    root.set_msr(cpu, msr::kIntelPackageEnergy, 1000);
    root.set_msr(cpu, msr::kIntelDramEnergy, 2000);
  }
  ProbeOutcome probe = probe_rapl_msr(parse_rapl_domains("").value(), intel_server());
  ASSERT_TRUE(probe.sensor) << probe.status.detail;
  EXPECT_THAT(channel_names(*probe.sensor),
              ElementsAre("package-0/package", "package-0/dram", "package-1/package", "package-1/dram"));
  read_channels(*probe.sensor, 0.0);
  root.set_msr(0, msr::kIntelPackageEnergy, 1000 + 16384 * 50);  // +50 J in 2^-14 J units
  root.set_msr(0, msr::kIntelDramEnergy, 2000 + 65536 * 7);      // +7 J: server DRAM uses 2^-16 J
  root.set_msr(4, msr::kIntelPackageEnergy, 1000 + 16384 * 20);
  auto energy = read_channels(*probe.sensor, 1.0);
  EXPECT_DOUBLE_EQ(energy["package-0/package"], 50.0);
  EXPECT_DOUBLE_EQ(energy["package-0/dram"], 7.0);
  EXPECT_DOUBLE_EQ(energy["package-1/package"], 20.0);
  EXPECT_DOUBLE_EQ(energy["package-1/dram"], 0.0);
}

TEST(RaplMsr, ThirtyTwoBitCounterWrapsInto64Bits) {
  FakeRoot root("intel_server_1s");
  root.set_msr(0, msr::kIntelPowerUnit, kUnitsEsu14);
  root.set_msr(0, msr::kIntelPackageEnergy,
               0x1'0000'0000ull - 16384 * 10 + 0x1234'0000'0000ull);  // high bits ignored
  ProbeOutcome probe = probe_rapl_msr(parse_rapl_domains("package").value(), intel_server());
  ASSERT_TRUE(probe.sensor);
  read_channels(*probe.sensor, 0.0);
  root.set_msr(0, msr::kIntelPackageEnergy, 16384 * 30);  // 10 J to the top, 30 J after
  EXPECT_NEAR(read_channels(*probe.sensor, 1.0)["package-0/package"], 40.0, 1e-9);
}

TEST(RaplMsr, AmdReadsPackageRegisters) {
  FakeRoot root("amd_epyc");
  for (int cpu : {0, 4}) {
    root.set_msr(cpu, msr::kAmdPowerUnit, 0xA1003);  // ESU 16
    root.set_msr(cpu, msr::kAmdPackageEnergy, 10);
  }
  ProbeOutcome probe = probe_rapl_msr(parse_rapl_domains("").value(), amd());
  ASSERT_TRUE(probe.sensor) << probe.status.detail;
  EXPECT_THAT(channel_names(*probe.sensor), ElementsAre("package-0/package", "package-1/package"));
  read_channels(*probe.sensor, 0.0);
  root.set_msr(4, msr::kAmdPackageEnergy, 10 + 65536 * 3);
  EXPECT_DOUBLE_EQ(read_channels(*probe.sensor, 1.0)["package-1/package"], 3.0);
}

TEST(RaplMsr, MissingDeviceFilesSayHowToFix) {
  FakeRoot root("intel_server_1s");
  ProbeOutcome probe = probe_rapl_msr(parse_rapl_domains("").value(), intel_server());
  EXPECT_FALSE(probe.sensor);
  EXPECT_THAT(probe.status.fix, ::testing::HasSubstr("modprobe msr"));
}

TEST(RaplMsr, DramUnitQuirkOnlyOnServerModels) {
  EXPECT_TRUE(intel_dram_uses_fixed_unit(6, 0x55));
  EXPECT_FALSE(intel_dram_uses_fixed_unit(6, 0x8C));
  EXPECT_FALSE(intel_dram_uses_fixed_unit(25, 0x55));
}

}  // namespace
}  // namespace carbonmeter
