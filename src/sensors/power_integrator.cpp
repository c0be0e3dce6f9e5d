#include "sensors/power_integrator.hpp"

#include <algorithm>
#include <chrono>
#include <vector>

namespace carbonmeter {
namespace {

constexpr double kMinPeriodS = 0.01;
constexpr double kMaxPeriodS = 0.5;
constexpr double kLearningS = 1.0;

}  // namespace

PowerIntegrator::PowerIntegrator(std::function<std::optional<double>()> read_power_w)
    : read_power_w_(std::move(read_power_w)) {}

PowerIntegrator::~PowerIntegrator() { stop(); }

void PowerIntegrator::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  // A restart begins afresh: nothing from before the stop is integrated over the pause.
  stopping_ = false;
  energy_j_ = 0.0;
  last_power_w_.reset();
  failing_ = false;
  thread_ = std::thread([this] { run(); });
}

void PowerIntegrator::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

double PowerIntegrator::take_energy_j() {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (last_power_w_ && thread_.joinable()) {
    energy_j_ += *last_power_w_ * std::chrono::duration<double>(now - last_time_).count();
    last_time_ = now;
  }
  return std::exchange(energy_j_, 0.0);
}

double PowerIntegrator::poll_period_s() const {
  std::lock_guard lock(mutex_);
  return period_s_;
}

bool PowerIntegrator::failing() const {
  std::lock_guard lock(mutex_);
  return failing_;
}

void PowerIntegrator::run() {
  using clock = std::chrono::steady_clock;
  const auto started = clock::now();
  const std::optional<double> first = read_power_w_();
  auto last_change = started;
  std::vector<double> change_intervals_s;
  bool learned = false;
  std::unique_lock lock(mutex_);
  last_power_w_ = first;
  last_time_ = started;
  while (!stopping_) {
    const auto period = std::chrono::duration<double>(period_s_);
    if (wake_.wait_for(lock, period, [this] { return stopping_; })) break;
    lock.unlock();
    const std::optional<double> power = read_power_w_();
    const auto now = clock::now();
    lock.lock();
    failing_ = !power.has_value();
    if (power && last_power_w_) {
      const double dt = std::chrono::duration<double>(now - last_time_).count();
      energy_j_ += (*power + *last_power_w_) / 2.0 * dt;
      if (*power != *last_power_w_) {
        change_intervals_s.push_back(std::chrono::duration<double>(now - last_change).count());
        last_change = now;
      }
    }
    last_power_w_ = power;  // after a failed reading nothing is integrated across the gap
    last_time_ = now;
    if (!learned && std::chrono::duration<double>(now - started).count() >= kLearningS) {
      learned = true;
      if (change_intervals_s.size() >= 2) {
        std::nth_element(change_intervals_s.begin(),
                         change_intervals_s.begin() + change_intervals_s.size() / 2,
                         change_intervals_s.end());
        period_s_ =
            std::clamp(change_intervals_s[change_intervals_s.size() / 2] / 2.0, kMinPeriodS, kMaxPeriodS);
      } else {
        period_s_ = 0.1;  // the reading hardly changes: a tenth of a second is enough
      }
    }
  }
}

}  // namespace carbonmeter
