#include "core/sampler.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>

#include "sensors/registry.hpp"
#include "support/fake_root.hpp"
#include "support/run_cli.hpp"

namespace carbonmeter {
namespace {

using ::testing::HasSubstr;

// 1 J at every read, and a sensor in trouble: a new note each time, and the same note again.
class NoisySensor : public EnergySensor {
 public:
  std::string method() const override { return "noisy"; }
  std::string kind() const override { return "measured counter"; }
  double relative_uncertainty(Component) const override { return 0.0; }
  const std::vector<Channel>& channels() const override { return channels_; }
  void read(const SampleContext&, std::span<ChannelReading> out) override {
    out[0] = {1.0, std::nullopt};
    notes_.push_back("reading " + std::to_string(++reads_) + " was odd");
    notes_.push_back("the same thing again");
  }
  std::vector<std::string> take_notes() override { return std::exchange(notes_, {}); }

 private:
  std::vector<Channel> channels_{{Component::cpu, "package-0", "package", "", ""}};
  std::vector<std::string> notes_;
  int reads_ = 0;
};

SensorSet noisy_sensor() {
  SensorSet set;
  set.sensors.push_back({std::make_unique<NoisySensor>(), {}});
  set.sensors.back().counted[Component::cpu] = true;
  return set;
}

TEST(Sampler, NotesAreKeptOnceAndBounded) {
  std::vector<std::string> heard;
  Sampler sampler(noisy_sensor(), nullptr, 3600.0, [](const Sample&) {});
  sampler.set_note_listener([&heard](const std::string& note) { heard.push_back(note); });
  ASSERT_TRUE(sampler.start());
  for (int i = 0; i < 300; ++i) sampler.sample_now();
  sampler.stop();
  const std::vector<std::string> notes = sampler.notes();
  ASSERT_EQ(notes.size(), 101u);
  EXPECT_EQ(std::count(notes.begin(), notes.end(), "the same thing again"), 1);
  EXPECT_EQ(notes[0], "reading 1 was odd");
  EXPECT_THAT(notes.back(), HasSubstr("further notes of sensors were left out (at most 100 are kept)"));
  EXPECT_EQ(heard.size(), 100u);  // the journal hears what is kept
}

// The hook (the journal's fdatasync) runs after each of the thread's samples without the sampler's
// lock: it can take the lock itself, as a window boundary on another thread would meanwhile.
TEST(Sampler, TheAfterSampleHookRunsOutsideTheLock) {
  Sampler sampler(noisy_sensor(), nullptr, 0.01, [](const Sample&) {});
  std::atomic<int> hooks{0};
  std::atomic<double> seen_j{0.0};
  sampler.set_after_sample([&] {
    seen_j = sampler.boundary_totals().energy_j[Component::cpu];  // would deadlock under the lock
    ++hooks;
  });
  ASSERT_TRUE(sampler.start());
  EXPECT_TRUE(testing::wait_until([&] { return hooks >= 3; }, 30.0));
  sampler.stop();
  EXPECT_GE(hooks.load(), 3);
  EXPECT_GE(seen_j.load(), 3.0);
}

// A tree whose CPU time the test sets.
class ScriptedTree : public UsageSource {
 public:
  explicit ScriptedTree(std::shared_ptr<double> cpu_s) : cpu_s_(std::move(cpu_s)) {}
  Status start() override { return Ok{}; }
  ProcessTreeUsage sample(double, bool) override { return {*cpu_s_, 0, 1}; }
  const std::vector<pid_t>& pids() const override { return pids_; }
  void set_wants_pids(bool) override {}
  std::string source() const override { return "scripted"; }

 private:
  std::shared_ptr<double> cpu_s_;
  std::vector<pid_t> pids_;
};

// CPU time that reaches the tree after the machine's last busy tick (the command's rusage, added
// when it is reaped) is charged at the run's mean energy per busy second, not dropped.
TEST(Sampler, CpuTimeLeftWaitingAtTheLastSampleIsCharged) {
  testing::FakeRoot root("vm_no_rapl");
  root.set_memory_kb(16'000'000, 8'000'000);
  root.set_cpu_ticks(0, 0);
  const double ticks_per_s = static_cast<double>(::sysconf(_SC_CLK_TCK));
  auto tree_cpu_s = std::make_shared<double>(0.0);
  Sampler sampler(noisy_sensor(), std::make_unique<ScriptedTree>(tree_cpu_s), 3600.0, nullptr);
  ASSERT_TRUE(sampler.start());
  root.set_cpu_ticks(static_cast<std::uint64_t>(ticks_per_s), 0);  // 1 busy s on the machine
  *tree_cpu_s = 0.5;                                               // half of it the tree's
  const Totals first = sampler.sample_now(true);
  const double first_machine_j = first.machine_energy_j[Component::cpu];
  ASSERT_GT(first_machine_j, 0.0);
  EXPECT_NEAR(first.energy_j[Component::cpu], 0.5 * first_machine_j, 1e-12);
  *tree_cpu_s = 0.7;  // 0.2 s more, with no busy tick after it
  sampler.stop();
  const Totals last = sampler.totals();
  const double machine_j = last.machine_energy_j[Component::cpu];
  EXPECT_NEAR(last.energy_j[Component::cpu], 0.5 * first_machine_j + 0.2 * machine_j / 1.0, 1e-12);
  EXPECT_LE(last.energy_j[Component::cpu], machine_j);
}

// A short command on an idle machine: its few ms of CPU fall between /proc/stat's 10 ms ticks, so
// the machine shows no busy time at all. The tree was then the only work: it gets the CPU energy.
TEST(Sampler, AShortCommandOnAMachineWithNoBusyTickIsChargedAsTheOnlyWork) {
  testing::FakeRoot root("vm_no_rapl");
  root.set_memory_kb(16'000'000, 8'000'000);
  root.set_cpu_ticks(0, 0);
  auto tree_cpu_s = std::make_shared<double>(0.0);
  Sampler sampler(noisy_sensor(), std::make_unique<ScriptedTree>(tree_cpu_s), 3600.0, nullptr);
  ASSERT_TRUE(sampler.start());
  root.set_cpu_ticks(0, 100);
  EXPECT_EQ(sampler.sample_now(true).energy_j[Component::cpu], 0.0);
  *tree_cpu_s = 0.002;
  sampler.stop();
  const Totals last = sampler.totals();
  EXPECT_GT(last.machine_energy_j[Component::cpu], 0.0);
  EXPECT_NEAR(last.energy_j[Component::cpu], last.machine_energy_j[Component::cpu], 1e-12);
}

}  // namespace
}  // namespace carbonmeter
