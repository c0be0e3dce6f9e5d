#include "metrics/live_metrics.hpp"

#include <algorithm>
#include <chrono>

#include "carbon/emissions.hpp"
#include "core/tracker_impl.hpp"

namespace carbonmeter::metrics {

std::optional<double> intensity_in_force(const ResolvedLocation& location, double unix_s) {
  if (location.series) {
    const SeriesIntegral integral = location.series->integrate(unix_s, unix_s + 1e-3);
    if (integral.covered_s > 0) return integral.g_per_kwh_seconds / integral.covered_s;
    if (location.series_fallback) return location.series_fallback->g_per_kwh;
    return std::nullopt;
  }
  if (location.constant) return location.constant->g_per_kwh;
  return std::nullopt;
}

MetricsSnapshot snapshot_of(const RunReport& report, const ResolvedLocation* location, double now_unix_s) {
  MetricsSnapshot snapshot;
  const RunHeader& header = report.header;
  snapshot.labels.run_id = header.run_id;
  snapshot.labels.project = header.project_name;
  snapshot.labels.job = header.job.id;
  snapshot.labels.node = header.job.node.empty() ? header.hostname : header.job.node;
  snapshot.labels.rank = header.job.rank;
  for (const DeviceEnergy& device : report.devices) {
    DeviceMetrics metrics;
    metrics.component = device.component;
    metrics.device = device.device;
    metrics.domain = device.domain;
    if (device.attributed_j >= 0) {
      metrics.energy_j = device.attributed_j;
    } else {  // the component's share applies (docs/report.md)
      const double machine_j = report.machine_energy_j[device.component];
      metrics.energy_j =
          machine_j > 0 ? device.energy_j * report.energy_j[device.component] / machine_j : 0.0;
    }
    metrics.power_w = report.duration_s > 0 ? metrics.energy_j / report.duration_s : 0.0;
    snapshot.devices.push_back(std::move(metrics));
  }
  if (location) {
    if (auto account = account_emissions(report, *location))
      snapshot.emissions_g = account.value().emissions_g;
    snapshot.intensity_g_per_kwh = intensity_in_force(*location, now_unix_s);
  }
  return snapshot;
}

void set_power_since(MetricsSnapshot& now, const MetricsSnapshot& before, double dt_s) {
  if (!(dt_s > 0)) return;
  for (DeviceMetrics& device : now.devices)
    for (const DeviceMetrics& earlier : before.devices)
      if (earlier.component == device.component && earlier.device == device.device &&
          earlier.domain == device.domain) {
        device.power_w = std::max(0.0, device.energy_j - earlier.energy_j) / dt_s;
        break;
      }
}

LiveMetrics::LiveMetrics(std::function<RunReport()> read_report, std::shared_ptr<MetricsPublisher> publisher,
                         std::optional<ResolvedLocation> location)
    : read_report_(std::move(read_report)),
      publisher_(std::move(publisher)),
      location_(std::move(location)) {}

LiveMetrics::~LiveMetrics() { stop(); }

void LiveMetrics::start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void LiveMetrics::notify() {
  {
    std::lock_guard lock(mutex_);
    pending_ = true;
  }
  wake_.notify_one();
}

void LiveMetrics::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void LiveMetrics::publish(const RunReport& report) {
  std::lock_guard lock(publish_mutex_);
  MetricsSnapshot snapshot = snapshot_of(report, location_ ? &*location_ : nullptr, unix_now_s());
  if (cgroup_source_) snapshot.cgroups = cgroup_source_();
  if (previous_) set_power_since(snapshot, *previous_, report.duration_s - previous_duration_s_);
  // Between two snapshots of the same sample (the final one), keep the last sample's power.
  if (previous_ && !(report.duration_s > previous_duration_s_))
    for (DeviceMetrics& device : snapshot.devices)
      for (const DeviceMetrics& earlier : previous_->devices)
        if (earlier.component == device.component && earlier.device == device.device &&
            earlier.domain == device.domain)
          device.power_w = earlier.power_w;
  previous_ = snapshot;
  previous_duration_s_ = report.duration_s;
  publisher_->publish(std::move(snapshot));
}

void LiveMetrics::run() {
  const auto min_period = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(kMinPeriodS));
  std::unique_lock lock(mutex_);
  auto next_allowed = std::chrono::steady_clock::now();
  while (true) {
    wake_.wait(lock, [this] { return pending_ || stopping_; });
    if (stopping_) return;
    // Samples faster than kMinPeriodS are published together.
    if (wake_.wait_until(lock, next_allowed, [this] { return stopping_; })) return;
    pending_ = false;
    lock.unlock();
    publish(read_report_());
    next_allowed = std::chrono::steady_clock::now() + min_period;
    lock.lock();
  }
}

}  // namespace carbonmeter::metrics
