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
  integrator_ = std::make_unique<PowerIntegrator>(read_.power_w);
  if (mode_ == Mode::checking_counter) {
    auto first = read_.energy_counter();
    if (!first) mode_ = Mode::power;
    else (void)counter_.update(*first, 0.0);
  }
  integrator_->start();
}

GpuMeter::~GpuMeter() { integrator_->stop(); }

std::string GpuMeter::method() const {
  return prefix_ + (mode_ == Mode::power || (mode_ == Mode::lost && !read_.energy_counter) ? "-power" : "-counter");
}

std::string GpuMeter::kind() const {
  return method().ends_with("-power") ? "integrated power" : "measured counter";
}

double GpuMeter::relative_uncertainty() const {
  return method().ends_with("-power") ? kPowerUncertainty : kCounterUncertainty;
}

void GpuMeter::switch_to_power(const std::string& why) {
  notes_.push_back(fmt::format("{}: {}; its energy is integrated from power readings instead", label_, why));
  mode_ = Mode::power;
}

void GpuMeter::end_check() {
  // The counter is believed when it agrees with the integrated power within a factor of two
  // (power readings are averaged and rounded; a broken counter is off by far more).
  const bool power_seen = held_power_j_ > 1.0;
  const double ratio = power_seen ? held_counter_j_ / held_power_j_ : 1.0;
  if (power_seen && (ratio < 0.5 || ratio > 2.0)) {
    switch_to_power(fmt::format("the energy counter gave {:.1f} J where power × time gave {:.1f} J over the first "
                                "{:.1f} s: implausible",
                                held_counter_j_, held_power_j_, checked_s_));
  } else {
    mode_ = Mode::counter;
    integrator_->stop();
  }
}

double GpuMeter::read(double elapsed_s) {
  if (mode_ == Mode::lost) return 0.0;
  if (read_.lost && read_.lost()) {
    mode_ = Mode::lost;
    integrator_->stop();
    notes_.push_back(label_ + " stopped answering (lost or removed): its energy from then on is missing");
    return 0.0;
  }
  if (mode_ == Mode::power) return integrator_->take_energy_j();

  auto raw = read_.energy_counter();
  if (!raw && read_.lost && read_.lost()) return read(elapsed_s);  // the failure said: gone for good
  if (!raw) {
    counter_.missed(elapsed_s);
    if (mode_ == Mode::checking_counter) {
      switch_to_power("the energy counter stopped answering");
      return held_power_j_ + integrator_->take_energy_j();
    }
    if (!integrator_) return 0.0;
    switch_to_power("the energy counter stopped answering");
    integrator_->start();
    return 0.0;
  }
  const CounterDelta delta = counter_.update(*raw, elapsed_s);
  if (delta.event == CounterEvent::reset)
    notes_.push_back(label_ + ": energy counter went back (driver reloaded?): counting from the reset");
  if (mode_ == Mode::counter) return delta.energy_j;

  held_counter_j_ += delta.energy_j;
  held_power_j_ += integrator_->take_energy_j();
  checked_s_ += elapsed_s;
  if (checked_s_ < kCheckSeconds && !flushing_) return 0.0;
  end_check();
  return mode_ == Mode::counter ? held_counter_j_ : held_power_j_;
}

}  // namespace carbonmeter
