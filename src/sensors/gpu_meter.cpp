#include "sensors/gpu_meter.hpp"

#include <fmt/format.h>

namespace carbonmeter {
namespace {

constexpr double kMaxGpuPowerW = 2000.0;
constexpr double kCounterUncertainty = 0.05;  // NVIDIA and AMD state about ±5 % for their sensors
constexpr double kPowerUncertainty = 0.10;    // plus what sampling a power reading can miss

}  // namespace

GpuMeter::GpuMeter(std::string label, std::string method_prefix, GpuReadFunctions read)
    : label_(std::move(label)),
      prefix_(std::move(method_prefix)),
      read_(std::move(read)),
      mode_(read_.energy_counter ? Mode::checking_counter : Mode::power),
      counter_(read_.joules_per_unit, 0, kMaxGpuPowerW) {
  if (!read_.lost) read_.lost = std::make_shared<std::atomic<bool>>(false);
  integrator_ = std::make_unique<PowerIntegrator>(read_.power_w);
  integrator_->start();
}

GpuMeter::~GpuMeter() { stop(); }

void GpuMeter::stop() { integrator_->stop(); }

std::string GpuMeter::method() const { return prefix_ + (mode_ == Mode::power ? "-power" : "-counter"); }

std::string GpuMeter::kind() const { return mode_ == Mode::power ? "integrated power" : "measured counter"; }

double GpuMeter::relative_uncertainty() const {
  return mode_ == Mode::power ? kPowerUncertainty : kCounterUncertainty;
}

void GpuMeter::switch_to_power(const std::string& why) {
  notes_.push_back(fmt::format("{}: {}; its energy is integrated from power readings instead", label_, why));
  mode_ = Mode::power;
  integrator_->start();  // no-op while it runs
}

double GpuMeter::read_lost() {
  // What was measured up to the loss still counts.
  const double pending_j = mode_ == Mode::counter ? 0.0 : integrator_->take_energy_j();
  integrator_->stop();
  lost_ = true;
  notes_.push_back(label_ + " stopped answering (lost or removed): its energy from then on is missing");
  return pending_j;
}

double GpuMeter::read(double elapsed_s) {
  if (lost_) return 0.0;
  if (read_.lost->load(std::memory_order_acquire)) return read_lost();

  if (!baseline_taken_) {
    // The run starts now: energy integrated since the probe is not the run's.
    baseline_taken_ = true;
    (void)integrator_->take_energy_j();
    if (mode_ != Mode::power) {
      auto first = read_.energy_counter();
      if (first)
        (void)counter_.update(*first, 0.0);
      else
        switch_to_power("the energy counter does not answer");
    }
    return 0.0;
  }
  if (mode_ == Mode::power) return integrator_->take_energy_j();

  auto raw = read_.energy_counter();
  if (!raw) {
    if (read_.lost->load(std::memory_order_acquire)) return read_lost();
    // A cumulative counter loses nothing by one failed read: the next good one covers the gap.
    counter_.missed(elapsed_s);
    counter_failing_s_ += elapsed_s;
    if (counter_failing_s_ >= kCounterFailureSeconds || mode_ == Mode::checking_counter) {
      switch_to_power(fmt::format("the energy counter stopped answering for {:.0f} s", counter_failing_s_));
      return integrator_->take_energy_j();
    }
    return 0.0;
  }
  counter_failing_s_ = 0.0;
  const CounterDelta delta = counter_.update(*raw, elapsed_s);
  if (delta.event == CounterEvent::reset)
    notes_.push_back(label_ + ": energy counter went back (driver reloaded?): counting from the reset");
  if (mode_ == Mode::counter) return delta.energy_j;

  // Checking: power integration is what is reported meanwhile; the counter must agree with it
  // within a factor of two (power readings are averaged and rounded; a broken counter is off by far
  // more) before it is trusted.
  const double power_j = integrator_->take_energy_j();
  checked_counter_j_ += delta.energy_j;
  checked_power_j_ += power_j;
  checked_s_ += elapsed_s;
  if (checked_s_ >= kCheckSeconds) {
    const bool power_seen = checked_power_j_ > 1.0;
    const double ratio = power_seen ? checked_counter_j_ / checked_power_j_ : 1.0;
    if (power_seen && (ratio < 0.5 || ratio > 2.0)) {
      switch_to_power(
          fmt::format("the energy counter gave {:.1f} J where power × time gave {:.1f} J over the first "
                      "{:.1f} s: implausible",
                      checked_counter_j_, checked_power_j_, checked_s_));
    } else {
      mode_ = Mode::counter;
      integrator_->stop();
    }
  }
  return power_j;
}

std::string combined_gpu_method(const std::vector<const GpuMeter*>& meters, const std::string& prefix) {
  std::string method;
  for (const GpuMeter* meter : meters) {
    const std::string one = meter->method();
    if (method.empty())
      method = one;
    else if (method != one)
      return prefix + "-mixed";
  }
  return method.empty() ? prefix : method;
}

std::string gpu_method_kind(const std::string& method) {
  return method.ends_with("-counter") ? "measured counter" : "integrated power";
}

double worst_gpu_uncertainty(const std::vector<const GpuMeter*>& meters) {
  double worst = 0.0;
  for (const GpuMeter* meter : meters) worst = std::max(worst, meter->relative_uncertainty());
  return worst;
}

}  // namespace carbonmeter
