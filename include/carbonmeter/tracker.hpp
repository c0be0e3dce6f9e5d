// The C++ library API: a Tracker samples every sensor on a background thread and gives
// measurements for the whole run and for named windows (nested and overlapping allowed).
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "carbonmeter/measurement.hpp"
#include "carbonmeter/result.hpp"

namespace carbonmeter {

enum class Scope {
  machine,  // everything the host's sensors see
  process,  // the share of a process tree (root_pid and its descendants)
  cgroup,   // the share of an existing cgroup (cgroup_path): a container, a pod, a Slurm job
};

// "machine", "process", "cgroup": as the run report's "scope" says it.
const char* scope_name(Scope scope);

struct TrackerOptions {
  double interval_s = 1.0;       // 0.01 .. 3600
  Scope scope = Scope::process;  // the library's default: this process and its children
  pid_t root_pid = 0;            // 0 = the calling process
  // Scope::cgroup: a cgroup folder ("/sys/fs/cgroup/kubepods.slice/…"), or its path as /proc/PID/cgroup
  // shows it ("/system.slice/docker-….scope"); cgroup v2, or v1 cpuacct + memory.
  std::string cgroup_path;
  std::string rapl_domains;  // "" = package,dram; or e.g. "psys"
  std::string gpu_ids;       // "" = CUDA_VISIBLE_DEVICES if set, else every GPU; or "0,2", "GPU-…"
  std::string output_dir;    // "" = no journal; else a journal is appended every interval
  // The journal is synced to disk (fdatasync) at most this often, in seconds of sample time (0 = every
  // sample; at most 3600): what a power cut can lose. A killed process loses nothing either way. On a
  // virtual disk a sync costs about as much CPU as a sample (bench/RESULTS.md); 5 s is also ext4's
  // default commit interval.
  double journal_sync_s = 5.0;
  std::string project_name = "carbonmeter";
  std::vector<std::string> command;  // recorded in the report when a command is measured
  // Called at both ends of every window, before its counters are read, so that asynchronous work (queued
  // GPU kernels) lands inside the window it belongs to; e.g. [] { cudaDeviceSynchronize(); }.
  // The Python binding passes sync="torch" as a callable that runs torch.cuda.synchronize().
  std::function<void()> window_sync;
};

class Tracker {
 public:
  explicit Tracker(TrackerOptions options = {});
  ~Tracker();  // stops the tracker if it is running (RAII)
  Tracker(const Tracker&) = delete;
  Tracker& operator=(const Tracker&) = delete;

  // Finds the sensors and starts sampling. Fails when the options are invalid or the journal
  // cannot be written.
  Status start();
  // Takes a last sample, stops the thread and returns the whole run.
  Measurement stop();
  bool running() const;

  // Named windows: each reads every sensor at its ends (an estimate reads /proc/stat then). No
  // sample is taken: what they read is held for the next sample, and in process scope the tree's
  // last share applies (docs/methodology.md). A name may be open only once at a time.
  Status begin_window(const std::string& name);
  Result<Measurement> end_window(const std::string& name);
  Status cancel_window(const std::string& name);

  // Energy so far (takes a sample now).
  Measurement current();

  // The full run report (JSON text, schema in docs/report.md); valid after stop().
  std::string report_json() const;
  // Sets the measured command's exit code for the report.
  void set_exit_code(int exit_code);
  // Notes about sensors and fallbacks, one line each (e.g. "energy_uj is root-only: ...").
  std::vector<std::string> notes() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace carbonmeter
