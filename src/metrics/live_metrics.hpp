// Keeps the Prometheus snapshot current while a tracker measures: the tracker's sample listener
// calls notify() (cheap: it runs under the sampler's lock), and a thread of its own then reads the
// report, accounts its emissions as the run does (src/carbon/emissions) and publishes a snapshot.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "carbon/location.hpp"
#include "core/run_report.hpp"
#include "metrics/metrics_server.hpp"

namespace carbonmeter::metrics {

// The intensity in force at unix_s: the series' value then (else its fallback), or the constant;
// nullopt when nothing gives one.
std::optional<double> intensity_in_force(const ResolvedLocation& location, double unix_s);

// The snapshot of a report: each channel's energy attributed to the run's scope (CPU and RAM
// channels without a share of their own get their component's share), its average power, the
// emissions as account_emissions counts them and the intensity in force at now_unix_s. location
// nullptr: no emissions and no intensity.
MetricsSnapshot snapshot_of(const RunReport& report, const ResolvedLocation* location, double now_unix_s);

// Replaces each channel's average power by its power since `before`, dt_s earlier.
void set_power_since(MetricsSnapshot& now, const MetricsSnapshot& before, double dt_s);

class LiveMetrics {
 public:
  // read_report is called on the thread of LiveMetrics only, between start() and stop().
  LiveMetrics(std::function<RunReport()> read_report, std::shared_ptr<MetricsPublisher> publisher,
              std::optional<ResolvedLocation> location);
  ~LiveMetrics();
  LiveMetrics(const LiveMetrics&) = delete;
  LiveMetrics& operator=(const LiveMetrics&) = delete;

  void start();
  // A sample was taken: publish a new snapshot soon (at most every kMinPeriodS).
  void notify();
  // Joins the thread: read_report is not called any more.
  void stop();
  // Publishes the snapshot of this report now (the run's final one, after stop()).
  void publish(const RunReport& report);
  // monitor --per-cgroup: called with every snapshot for the containers' series; set before start().
  void set_cgroup_source(std::function<std::vector<CgroupMetrics>()> source) {
    cgroup_source_ = std::move(source);
  }

  static constexpr double kMinPeriodS = 0.1;

 private:
  void run();

  std::function<RunReport()> read_report_;
  std::shared_ptr<MetricsPublisher> publisher_;
  std::optional<ResolvedLocation> location_;
  std::function<std::vector<CgroupMetrics>()> cgroup_source_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool pending_ = false;
  bool stopping_ = false;
  std::thread thread_;
  std::mutex publish_mutex_;
  std::optional<MetricsSnapshot> previous_;
  double previous_duration_s_ = 0.0;
};

// Stops a LiveMetrics when the scope ends, before the tracker it reads is destroyed (declare it
// after the tracker).
struct StopOnExit {
  LiveMetrics* live;
  ~StopOnExit() {
    if (live) live->stop();
  }
};

}  // namespace carbonmeter::metrics
