#include "agent/agent_counters.hpp"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace carbonmeter::agent {
namespace {

constexpr double kMinSamplePeriodS = 0.01;
// A delta within this of a whole µJ is that whole µJ: powercap counts in µJ, and J → µJ must not
// lose one to rounding.
constexpr double kWholeSlackUj = 1e-3;

}  // namespace

std::string random_instance_id() {
  std::random_device random;
  const std::uint64_t value = (static_cast<std::uint64_t>(random()) << 32) ^ random();
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 0; i < 16; ++i) out[static_cast<std::size_t>(i)] = kDigits[(value >> (60 - 4 * i)) & 0xF];
  return out;
}

std::uint64_t monotonic_now_ns() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000ull + static_cast<std::uint64_t>(now.tv_nsec);
}

AgentCounters::AgentCounters(std::unique_ptr<EnergySensor> sensor, NoteListener on_note)
    : sensor_(std::move(sensor)), on_note_(std::move(on_note)), instance_(random_instance_id()) {
  method_ = sensor_->method();
  for (const Channel& channel : sensor_->channels())
    channels_.push_back({channel.component, channel.device, channel.domain,
                         sensor_->relative_uncertainty(channel.component)});
  const double limit_s = sensor_->max_interval_s();
  sample_period_s_ =
      std::clamp(std::isfinite(limit_s) ? limit_s : kMaxSamplePeriodS, kMinSamplePeriodS, kMaxSamplePeriodS);
  readings_.resize(channels_.size());
  total_uj_.assign(channels_.size(), 0);
  fraction_uj_.assign(channels_.size(), 0.0);
  last_read_ = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  sample_locked();  // the baseline: the sensor's first read reports 0
}

AgentCounters::~AgentCounters() { stop(); }

ReadInfo AgentCounters::sample(double max_age_s) {
  std::lock_guard lock(mutex_);
  if (max_age_s > 0 &&
      std::chrono::steady_clock::now() - last_read_ < std::chrono::duration<double>(max_age_s))
    return last_;
  return sample_locked();
}

ReadInfo AgentCounters::sample_locked() {
  const auto now = std::chrono::steady_clock::now();
  SampleContext context;
  context.elapsed_s = std::chrono::duration<double>(now - last_read_).count();
  last_read_ = now;
  std::fill(readings_.begin(), readings_.end(), ChannelReading{});
  sensor_->read(context, readings_);
  ReadInfo out;
  out.instance = instance_;
  out.monotonic_ns = monotonic_now_ns();
  for (std::size_t i = 0; i < channels_.size(); ++i) {
    const double energy_j = readings_[i].energy_j;
    if (std::isfinite(energy_j) && energy_j > 0) {
      double pending_uj = fraction_uj_[i] + energy_j * 1e6;
      const double nearest = std::round(pending_uj);
      if (std::abs(pending_uj - nearest) < kWholeSlackUj) pending_uj = nearest;
      const double whole = std::floor(pending_uj);
      total_uj_[i] += static_cast<std::uint64_t>(whole);
      fraction_uj_[i] = pending_uj - whole;
    }
    out.counters.push_back({channels_[i].device, channels_[i].domain, total_uj_[i]});
  }
  if (on_note_)
    for (const std::string& note : sensor_->take_notes()) on_note_(note);
  last_ = out;
  return out;
}

void AgentCounters::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run_thread(); });
}

void AgentCounters::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AgentCounters::run_thread() {
  std::unique_lock lock(mutex_);
  const auto period = std::chrono::duration<double>(sample_period_s_);
  while (!stopping_) {
    // A READ in between counts as a sample: wait a whole period from the latest one.
    const auto due = last_read_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(period);
    if (wake_.wait_until(lock, due, [this] { return stopping_; })) break;
    if (std::chrono::steady_clock::now() >=
        last_read_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(period))
      sample_locked();
  }
}

}  // namespace carbonmeter::agent
