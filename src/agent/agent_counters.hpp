// The agent's counters: cumulative energy per channel in µJ, 64-bit, since the agent started. A
// thread samples the sensor at least as often as its max_interval_s() (so no hardware wrap is
// missed), and every READ samples it again, so that what a client gets is fresh. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/protocol.hpp"
#include "sensors/energy_sensor.hpp"

namespace carbonmeter::agent {

// The longest the thread waits between two samples, whatever the sensor allows.
inline constexpr double kMaxSamplePeriodS = 1.0;

class AgentCounters {
 public:
  using NoteListener = std::function<void(const std::string&)>;
  // Takes the baseline sample (every counter starts at 0). on_note hears the sensor's notes (a
  // counter reset, an unreadable zone).
  AgentCounters(std::unique_ptr<EnergySensor> sensor, NoteListener on_note = nullptr);
  ~AgentCounters();
  AgentCounters(const AgentCounters&) = delete;
  AgentCounters& operator=(const AgentCounters&) = delete;

  const std::vector<ChannelInfo>& channels() const { return channels_; }
  const std::string& method() const { return method_; }
  const std::string& instance() const { return instance_; }
  double sample_period_s() const { return sample_period_s_; }
  // Reads the sensor and returns the totals; when the last sample is younger than max_age_s, returns
  // that one instead (a READ flood does not read the hardware at a higher rate than that).
  ReadInfo sample(double max_age_s = 0.0);
  // The sampling thread.
  void start();
  void stop();

 private:
  ReadInfo sample_locked();
  void run_thread();

  std::unique_ptr<EnergySensor> sensor_;
  NoteListener on_note_;
  std::vector<ChannelInfo> channels_;
  std::string method_;
  std::string instance_;
  double sample_period_s_ = kMaxSamplePeriodS;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
  std::chrono::steady_clock::time_point last_read_;
  std::vector<ChannelReading> readings_;
  std::vector<std::uint64_t> total_uj_;
  std::vector<double> fraction_uj_;  // below 1 µJ, carried to the next sample
  ReadInfo last_;
};

// 16 hex digits from the system's random source.
std::string random_instance_id();
std::uint64_t monotonic_now_ns();

}  // namespace carbonmeter::agent
