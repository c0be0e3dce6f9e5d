// The Tracker's internals, shared with the command-line tool (which also reaps the measured
// command and needs the full report).
#pragma once

#include <map>
#include <memory>
#include <optional>

#include "carbonmeter/tracker.hpp"
#include "core/journal.hpp"
#include "core/sampler.hpp"

namespace carbonmeter {

class Tracker::Impl {
 public:
  explicit Impl(TrackerOptions options) : options_(std::move(options)) {}
  Status start();
  Measurement stop();
  bool running() const { return running_; }
  Status begin_window(const std::string& name);
  Result<Measurement> end_window(const std::string& name);
  Status cancel_window(const std::string& name);
  Measurement current();
  void set_exit_code(int exit_code) { exit_code_ = exit_code; }
  // The caller reaps the root (and orphans, as subreaper) and reports each one's rusage through
  // add_reaped(); set before start().
  void set_tracker_reaps(bool reaps) { tracker_reaps_ = reaps; }
  void add_reaped(pid_t pid, double cpu_s);
  // Called after every sample (on the sampler's thread); set before start().
  void set_sample_listener(Sampler::SampleCallback listener) { listener_ = std::move(listener); }
  RunReport report() const;
  std::vector<std::string> notes() const;
  const std::string& journal_path() const;
  double interval_s() const;

 private:
  Measurement measurement_since(const std::string& name, double start_unix_s, double start_elapsed_s,
                                const Totals& start, const Totals& end) const;

  struct OpenWindow {
    double start_unix_s;
    Totals start;
  };
  TrackerOptions options_;
  RunHeader header_;
  std::unique_ptr<JournalWriter> journal_;
  std::unique_ptr<Sampler> sampler_;
  std::map<std::string, OpenWindow> windows_;
  std::optional<int> exit_code_;
  std::optional<RunReport> final_report_;
  Sampler::SampleCallback listener_;
  bool tracker_reaps_ = false;
  bool running_ = false;
  std::mutex windows_mutex_;
};

double unix_now_s();

}  // namespace carbonmeter
