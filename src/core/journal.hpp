// The run journal: a JSON-lines file in the output folder, one line per interval, so that a run
// that is killed keeps the energy measured up to its last sample. Line types:
//   {"type":"header", ...RunHeader}            first line
//   {"type":"sample","t":..,"dt":..,"e":[cpu,ram,gpu],"m":[cpu,ram,gpu],"s":[cpu_share,ram_share]}
//   {"type":"end","duration_s":..,"exit_code":..}  last line of a run that ended normally
#pragma once

#include <atomic>
#include <optional>
#include <string>

#include "carbonmeter/result.hpp"
#include "core/run_report.hpp"

namespace carbonmeter {

class JournalWriter {
 public:
  // Creates DIR (if needed) and DIR/carbonmeter-<run_id>.journal; fails with a clear message when
  // the folder cannot be written. A sync is asked for once sync_period_s of sample time has passed
  // since the last one (0: after every sample; TrackerOptions::journal_sync_s).
  static Result<std::unique_ptr<JournalWriter>> create(const std::string& dir, const RunHeader& header,
                                                       double sync_period_s);
  ~JournalWriter();
  // Writes the sample's line; at most once a sync period it marks the journal for sync_if_due().
  void append(const Sample& sample);
  // fdatasync when append() asked for it. Called by the sampler's thread outside the sampler's lock,
  // so that a window boundary never waits for the disk.
  void sync_if_due();
  bool sync_pending() const { return sync_due_.load(std::memory_order_relaxed); }
  void finish(double duration_s, std::optional<int> exit_code);
  const std::string& path() const { return path_; }
  bool failed() const { return failed_; }
  const std::string& failure() const { return failure_; }
  // Records a note (a counter reset, a fallback) so that a recovered report keeps it.
  void note(const std::string& text);

 private:
  JournalWriter(int fd, std::string path, double sync_period_s)
      : fd_(fd), path_(std::move(path)), sync_period_s_(sync_period_s) {}
  void write_line(const std::string& line);
  int fd_;
  std::string path_;
  double sync_period_s_;
  double last_sync_t_s_ = 0.0;
  std::atomic<bool> sync_due_{false};
  bool finished_ = false;
  bool failed_ = false;
  std::string failure_;
};

// Rebuilds the report from a journal: energy up to the last complete sample line. A torn last
// line (the process died mid-write) is skipped; a file with no valid header is an error.
Result<RunReport> recover_journal(const std::string& path);
// The newest journal in DIR, or an error saying none is there.
Result<std::string> newest_journal(const std::string& dir);

}  // namespace carbonmeter
