// Carrying out a plan during `carbonmeter run --plan`: waiting for the start, pausing and
// continuing the command's process group at the planned times, and what the plan saved, measured
// with the run's real energy.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "carbon/intensity_series.hpp"
#include "core/run_report.hpp"
#include "plan/planner.hpp"

namespace carbonmeter::cli {

// Sleeps until unix_s (returns at once when it has passed).
void sleep_until_unix(double unix_s);

// Pauses the process group at the end of each planned interval but the last and continues it at
// the start of the next. Pausing sends pause_signal (SIGSTOP by default) to the group; continuing
// runs resume_command (sh -c, with CARBONMETER_PGID set) or sends SIGCONT. The command is never
// stopped for good: past the last interval it runs on until it ends.
class PauseResumeScheduler {
 public:
  PauseResumeScheduler(pid_t process_group, std::vector<Interval> planned, int pause_signal,
                       std::string resume_command);
  ~PauseResumeScheduler();
  void start(double running_since_unix_s);
  // The command has ended at end_unix_s: no more pauses; returns the intervals it actually ran.
  std::vector<Interval> finish(double end_unix_s);
  // What did not go to plan (a resume command that failed, a signal that continued a pause).
  std::vector<std::string> notes() const { return notes_; }

 private:
  void loop();
  pid_t group_;
  std::vector<Interval> planned_;
  int pause_signal_;
  std::string resume_command_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool finished_ = false;
  std::vector<Interval> actual_;
  std::vector<std::string> notes_;
  double running_since_ = 0.0;
  bool running_ = true;
  std::thread thread_;
};

// The report's "plan" key: the plan, the intervals actually run, and the emissions of the same
// measured energy had the run started at not_before without pauses (null where the series does
// not cover that), against the emissions accounted for the run.
nlohmann::json measured_plan_saving(const RunReport& report, const std::vector<Interval>& actual,
                                    const IntensitySeries& series, double not_before_unix_s, double pue,
                                    double accounted_emissions_g);

}  // namespace carbonmeter::cli
