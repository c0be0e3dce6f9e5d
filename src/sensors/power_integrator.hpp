// Integrates a power reading over time (trapezoid rule) on its own thread, for devices without an
// energy counter. It polls quickly at first and then at half the interval at which the reading
// was seen to change, so that no update is missed and none is read needlessly.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

namespace carbonmeter {

class PowerIntegrator {
 public:
  // read_power_w returns nullopt when the reading failed.
  explicit PowerIntegrator(std::function<std::optional<double>()> read_power_w);
  ~PowerIntegrator();
  PowerIntegrator(const PowerIntegrator&) = delete;
  PowerIntegrator& operator=(const PowerIntegrator&) = delete;

  void start();
  void stop();
  // Energy integrated since the previous call, in J, up to now (the last reading held since the
  // last poll).
  double take_energy_j();
  double poll_period_s() const;
  bool failing() const;

 private:
  void run();
  std::function<std::optional<double>()> read_power_w_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;
  bool stopping_ = false;
  double energy_j_ = 0.0;
  double period_s_ = 0.01;  // until the update rate is learned
  bool failing_ = false;
  std::optional<double> last_power_w_;
  std::chrono::steady_clock::time_point last_time_;
};

}  // namespace carbonmeter
