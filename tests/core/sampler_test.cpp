#include "core/sampler.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>

#include "sensors/registry.hpp"
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

}  // namespace
}  // namespace carbonmeter
