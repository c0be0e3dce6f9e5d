// The agent's counters: cumulative µJ per channel, monotonic, exact for powercap's whole µJ, fresh
// at every sample, and sampled by a thread of their own.
#include "agent/agent_counters.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "agent/rapl_source.hpp"
#include "support/fake_root.hpp"

namespace carbonmeter::agent {
namespace {

using carbonmeter::testing::FakeRoot;

// Gives the energies queued by the test, one set per read; counts the reads.
class ScriptedSensor final : public EnergySensor {
 public:
  explicit ScriptedSensor(std::atomic<int>& reads) : reads_(reads) {
    channels_ = {{Component::cpu, "package-0", "package", "", ""},
                 {Component::ram, "package-0", "dram", "", ""}};
  }
  std::string method() const override { return "scripted"; }
  std::string kind() const override { return "measured counter"; }
  double relative_uncertainty(Component c) const override { return c == Component::ram ? 0.1 : 0.05; }
  const std::vector<Channel>& channels() const override { return channels_; }
  void read(const SampleContext&, std::span<ChannelReading> out) override {
    ++reads_;
    out[0].energy_j = package_j;
    out[1].energy_j = dram_j;
  }
  double max_interval_s() const override { return 0.02; }
  double package_j = 0.0;
  double dram_j = 0.0;

 private:
  std::atomic<int>& reads_;
  std::vector<Channel> channels_;
};

TEST(AgentCounters, AccumulateWholeAndFractionalMicrojoules) {
  std::atomic<int> reads{0};
  auto owned = std::make_unique<ScriptedSensor>(reads);
  ScriptedSensor& sensor = *owned;
  AgentCounters counters(std::move(owned));
  EXPECT_EQ(reads, 1);  // the baseline
  EXPECT_EQ(counters.method(), "scripted");
  ASSERT_EQ(counters.channels().size(), 2u);
  EXPECT_DOUBLE_EQ(counters.channels()[1].relative_uncertainty, 0.1);
  EXPECT_DOUBLE_EQ(counters.sample_period_s(), 0.02);  // the sensor's limit, under the 1 s default
  EXPECT_EQ(counters.instance().size(), 16u);

  // Whole µJ read as joules (powercap): no µJ lost to floating point, however many samples.
  sensor.package_j = 0.000003;  // 3 µJ
  sensor.dram_j = 1.0 / 16384;  // the MSR unit, 61.03515625 µJ
  ReadInfo last;
  for (int i = 0; i < 1000; ++i) last = counters.sample();
  EXPECT_EQ(last.counters[0].energy_uj, 3000u);
  EXPECT_EQ(last.counters[1].energy_uj, 61035u);  // 61035.15625, the fraction kept for later
  EXPECT_EQ(last.counters[0].device, "package-0");
  EXPECT_EQ(last.counters[1].domain, "dram");
  EXPECT_EQ(last.instance, counters.instance());

  sensor.package_j = 42.0;
  sensor.dram_j = 0.0;
  const ReadInfo next = counters.sample();
  EXPECT_EQ(next.counters[0].energy_uj, 42'003'000u);
  EXPECT_EQ(next.counters[1].energy_uj, 61035u);
  EXPECT_GE(next.monotonic_ns, last.monotonic_ns);
}

TEST(AgentCounters, ASampleYoungerThanTheAgeAskedForIsReused) {
  std::atomic<int> reads{0};
  auto owned = std::make_unique<ScriptedSensor>(reads);
  ScriptedSensor& sensor = *owned;
  AgentCounters counters(std::move(owned));
  sensor.package_j = 1.0;
  EXPECT_EQ(counters.sample().counters[0].energy_uj, 1'000'000u);
  EXPECT_EQ(reads, 2);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(counters.sample(60.0).counters[0].energy_uj, 1'000'000u);
  EXPECT_EQ(reads, 2);  // a flood of READs does not read the hardware
  EXPECT_EQ(counters.sample(0.0).counters[0].energy_uj, 2'000'000u);
  EXPECT_EQ(reads, 3);
}

TEST(AgentCounters, TheThreadSamplesWithinTheSensorsLimit) {
  std::atomic<int> reads{0};
  AgentCounters counters(std::make_unique<ScriptedSensor>(reads));
  counters.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  counters.stop();
  // 0.3 s at 0.02 s: about 15 samples; a loaded machine may give fewer, never none.
  EXPECT_GE(reads.load(), 5);
  const int after_stop = reads.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  EXPECT_EQ(reads.load(), after_stop);
}

TEST(AgentCounters, PowercapCountersNeverGoBackAcrossAHardwareWrap) {
  FakeRoot root("intel_server_1s");
  root.set_max_range_uj("intel-rapl:0", 262'143'328'850);
  root.set_energy_uj("intel-rapl:0", 262'143'000'000);
  auto source = probe_rapl_source();
  ASSERT_TRUE(source.ok()) << source.error().message;
  EXPECT_EQ(source.value().sensor->method(), "rapl-powercap");
  AgentCounters counters(std::move(source.value().sensor));
  std::size_t package = counters.channels().size();
  for (std::size_t i = 0; i < counters.channels().size(); ++i)
    if (counters.channels()[i].device == "package-0" && counters.channels()[i].domain == "package")
      package = i;
  ASSERT_LT(package, counters.channels().size());
  root.set_energy_uj("intel-rapl:0", 262'143'328'850);  // +0.32885 J, to the top of the range
  EXPECT_EQ(counters.sample().counters[package].energy_uj, 328'850u);
  root.set_energy_uj("intel-rapl:0", 999'999);  // wrapped: +1 µJ to 0, then 999 999 µJ
  EXPECT_EQ(counters.sample().counters[package].energy_uj, 328'850u + 1'000'000u);
}

TEST(AgentCounters, ServesEveryPowercapDomainFound) {
  FakeRoot root("intel_server_2s");
  auto source = probe_rapl_source();
  ASSERT_TRUE(source.ok()) << source.error().message;
  AgentCounters counters(std::move(source.value().sensor));
  std::vector<std::string> names;
  for (const ChannelInfo& channel : counters.channels())
    names.push_back(channel.device + "/" + channel.domain);
  EXPECT_THAT(names,
              ::testing::UnorderedElementsAre("package-0/package", "package-0/core", "package-0/uncore",
                                              "package-0/dram", "package-1/package", "package-1/core",
                                              "package-1/uncore", "package-1/dram", "psys/psys"));
}

TEST(AgentCounters, NoReadableCounterIsAnErrorThatSaysWhy) {
  FakeRoot root("vm_no_rapl");
  auto source = probe_rapl_source();
  ASSERT_FALSE(source.ok());
  EXPECT_THAT(source.error().message, ::testing::HasSubstr("rapl-powercap: no intel-rapl zone"));
  EXPECT_THAT(source.error().message, ::testing::HasSubstr("rapl-msr"));
}

}  // namespace
}  // namespace carbonmeter::agent
