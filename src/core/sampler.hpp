// The sampler: reads every sensor each interval (on its own thread, or on demand), applies the
// process tree's share, and keeps cumulative joules per component. Thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "carbonmeter/tracker.hpp"
#include "core/run_report.hpp"
#include "core/sample.hpp"
#include "core/usage_source.hpp"
#include "sensors/registry.hpp"

namespace carbonmeter {

struct Totals {
  double elapsed_s = 0.0;
  EnergyJ energy_j;
  EnergyJ machine_energy_j;
};

class Sampler {
 public:
  using SampleCallback = std::function<void(const Sample&)>;
  // usage: what the machine's energy is shared with (a process tree, a cgroup); null counts the
  // whole machine. on_sample is called (under the sampler's lock) after every sample, e.g. to
  // append to the journal.
  Sampler(SensorSet sensors, std::unique_ptr<UsageSource> usage, double interval_s, SampleCallback on_sample);
  ~Sampler();

  // Takes the baseline sample and starts the thread; fails when the process tree's root or the
  // cgroup cannot be read.
  Status start();
  // Takes a last sample and joins the thread.
  void stop();
  // Takes a sample now and returns the totals since start. refresh_all: read the process tree and
  // attribute everything measured so far (window boundaries); otherwise as the periodic sample.
  Totals sample_now(bool refresh_all = true);
  // The totals as of now without taking a sample (window boundaries): every sensor is read (what
  // it reports is held for the next sample, so energy is split exactly at the boundary), nothing
  // is journaled, the process tree and memory are not re-read, and energy not yet attributed
  // gets the tree's last share.
  Totals boundary_totals();
  Totals totals() const;
  std::vector<Sample> series() const;
  std::size_t samples_per_point() const;
  std::size_t sample_count() const;
  std::vector<DeviceEnergy> devices() const;
  // What each component is measured with now.
  PerComponent<MethodInfo> methods() const;
  std::vector<std::string> notes() const;  // from sensors, during the run
  void add_reaped(pid_t pid, double cpu_s);
  // Called by the sampler's thread after each of its samples, outside the lock (the journal's
  // fdatasync); set before start().
  void set_after_sample(std::function<void()> hook) { after_sample_ = std::move(hook); }
  // Called (under the sampler's lock) for each note raised during the run; set before start().
  void set_note_listener(std::function<void(const std::string&)> listener) { on_note_ = std::move(listener); }
  // Processes of the tree still alive at the last sample (besides the root, when it was reaped).
  int processes_alive() const;
  // How the process tree or cgroup is read (UsageSource::source()); "" in machine scope.
  std::string tree_source() const;
  double interval_s() const { return interval_s_; }

 private:
  static constexpr double kSlowRefreshS = 0.1;
  // refresh_all: read the process tree and memory even if they were read less than
  // kSlowRefreshS ago (the last sample of a run).
  void sample_locked(bool refresh_all);
  void run_thread();
  void charge_cpu_time_left_over(Sample& sample);
  void read_machine(SampleContext& context, bool refresh_memory);
  void note_once(bool& said, const std::string& note);
  // Energy a boundary read took from a channel, added to the next sample.
  struct HeldEnergy {
    double energy_j = 0.0;
    double shared_energy_j = 0.0;  // the part read with a process share of its own
    double attributed_j = 0.0;     // that part × its share
    bool has_share = false;
  };
  // Reads every sensor and adds each counted channel's energy to what is held for the next sample.
  void read_sensors_into_held(const SampleContext& context);

  SensorSet sensors_;
  double interval_s_;
  SampleCallback on_sample_;
  std::function<void(const std::string&)> on_note_;
  std::function<void()> after_sample_;
  std::unique_ptr<UsageSource> tree_;
  MachineStatReader machine_;
  ContextNeeds needs_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool started_ = false;
  std::thread thread_;

  std::chrono::steady_clock::time_point start_time_;
  std::chrono::steady_clock::time_point last_time_;
  MachineCpuTime last_cpu_time_;
  double last_slow_refresh_t_s_ = 0.0;
  double cpu_share_ = 0.0;
  double ram_share_ = 0.0;
  bool cpu_time_failed_ = false;
  bool memory_failed_ = false;
  MemoryInfo memory_;
  ProcessTreeUsage tree_usage_;
  std::vector<pid_t> tree_pids_;
  double last_tree_cpu_s_ = 0.0;
  double tree_cpu_backlog_s_ = 0.0;
  // Machine energy and busy CPU time since the last tree refresh, attributed at the next one.
  EnergyJ pending_machine_j_;
  double pending_busy_s_ = 0.0;
  // The whole run's shared CPU energy, busy time and CPU energy given to the tree: CPU time still
  // waiting at the last sample is charged at the run's mean energy per busy second.
  double run_shared_cpu_j_ = 0.0;
  double run_busy_s_ = 0.0;
  double run_attributed_cpu_j_ = 0.0;
  double run_attributed_s_ = 0.0;
  Totals totals_;
  SampleSeries series_;
  std::size_t sample_count_ = 0;
  std::vector<std::vector<ChannelReading>> readings_;
  std::vector<std::vector<HeldEnergy>> held_;
  bool sensors_need_cpu_time_ = false;  // estimates: /proc/stat is read at window boundaries too
  std::chrono::steady_clock::time_point last_read_time_;  // of the sensors, by a sample or a boundary
  std::vector<DeviceEnergy> devices_;
  // Said once each, at most kMaxNotes (a sensor in trouble for days must not grow them unbounded).
  void keep_note(std::string note);
  static constexpr std::size_t kMaxNotes = 100;
  std::vector<std::string> notes_;
  std::size_t notes_left_out_ = 0;
};

}  // namespace carbonmeter
