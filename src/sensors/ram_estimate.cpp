#include "sensors/ram_estimate.hpp"

namespace carbonmeter {
namespace {

class RamEstimateSensor final : public EnergySensor {
 public:
  std::string method() const override { return "ram-estimate"; }
  std::string kind() const override { return "estimate"; }
  double relative_uncertainty(Component) const override { return kRamEstimateUncertainty; }
  const std::vector<Channel>& channels() const override { return channels_; }
  ContextNeeds needs() const override { return {false, false, true}; }
  void read(const SampleContext& context, std::span<ChannelReading> out) override {
    const double used_gb = static_cast<double>(context.memory.used_bytes()) / 1e9;
    out[0] = {kRamWattsPerGb * used_gb * context.elapsed_s, std::nullopt};
  }

 private:
  std::vector<Channel> channels_{{Component::ram, "host", "estimate", "", ""}};
};

}  // namespace

ProbeOutcome probe_ram_estimate() {
  ProbeOutcome outcome;
  outcome.status = {"ram-estimate",
                    "ram",
                    true,
                    "0.3725 W per GB of memory in use (MemTotal - MemAvailable), ±50 %",
                    "",
                    ""};
  outcome.sensor = std::make_unique<RamEstimateSensor>();
  return outcome;
}

}  // namespace carbonmeter
