#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "core/sampler.hpp"
#include "sensors/registry.hpp"

namespace carbonmeter {
namespace {

class OneJouleSensor : public EnergySensor {
 public:
  std::string method() const override { return "one-joule"; }
  std::string kind() const override { return "measured counter"; }
  double relative_uncertainty(Component) const override { return 0.0; }
  const std::vector<Channel>& channels() const override { return channels_; }
  void read(const SampleContext&, std::span<ChannelReading> out) override { out[0] = {1.0, std::nullopt}; }

 private:
  std::vector<Channel> channels_{{Component::cpu, "package-0", "package", "", ""}};
};

// The hook (the journal's fdatasync) runs after each of the thread's samples without the sampler's
// lock: it can take the lock itself, as a window boundary on another thread would meanwhile.
TEST(Sampler, TheAfterSampleHookRunsOutsideTheLock) {
  SensorSet set;
  set.sensors.push_back({std::make_unique<OneJouleSensor>(), {}});
  set.sensors.back().counted[Component::cpu] = true;
  Sampler sampler(std::move(set), nullptr, 0.01, [](const Sample&) {});
  std::atomic<int> hooks{0};
  std::atomic<double> seen_j{0.0};
  sampler.set_after_sample([&] {
    seen_j = sampler.boundary_totals().energy_j[Component::cpu];  // would deadlock under the lock
    ++hooks;
  });
  ASSERT_TRUE(sampler.start());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (hooks < 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  sampler.stop();
  EXPECT_GE(hooks.load(), 3);
  EXPECT_GE(seen_j.load(), 3.0);
}

}  // namespace
}  // namespace carbonmeter
