#include "cli/plan_execution.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>

#include "carbon/counterfactual.hpp"
#include "carbon/timestamp.hpp"
#include "cli/child_process.hpp"
#include "core/roots.hpp"
#include "core/text_file.hpp"
#include "core/tracker_impl.hpp"

extern char** environ;

namespace carbonmeter::cli {
namespace {

// The shell's exit status, or -1 when it could not be started.
int run_resume_command(const std::string& command, pid_t group) {
  ::setenv("CARBONMETER_PGID", std::to_string(group).c_str(), 1);
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid = 0;
  if (::posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) != 0) return -1;
  int status = 0;
  pid_t waited;
  while ((waited = ::waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
  }
  // Reaped by carbonmeter's own reaper first (ECHILD): its status is unknown; whether the group
  // runs is checked next anyway.
  if (waited < 0) return 0;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Whether the group's leader is stopped (state T in /proc/PID/stat).
bool stopped(pid_t leader) {
  auto stat = read_text_file(procfs_root() + "/" + std::to_string(leader) + "/stat");
  if (!stat) return false;
  const auto close = stat.value().rfind(')');
  return close != std::string::npos && close + 2 < stat.value().size() && stat.value()[close + 2] == 'T';
}

}  // namespace

void sleep_until_unix(double unix_s) { std::this_thread::sleep_until(system_time_of(unix_s)); }

PauseResumeScheduler::PauseResumeScheduler(pid_t process_group, std::vector<Interval> planned,
                                           int pause_signal, std::string resume_command)
    : group_(process_group),
      planned_(std::move(planned)),
      pause_signal_(pause_signal),
      resume_command_(std::move(resume_command)) {}

PauseResumeScheduler::~PauseResumeScheduler() {
  if (thread_.joinable()) finish(unix_now_s());
}

void PauseResumeScheduler::start(double running_since_unix_s) {
  running_since_ = running_since_unix_s;
  thread_ = std::thread([this] { loop(); });
}

void PauseResumeScheduler::loop() {
  std::unique_lock lock(mutex_);
  take_group_continued_by_signal();
  for (std::size_t i = 0; i + 1 < planned_.size(); ++i) {
    if (wake_.wait_until(lock, system_time_of(planned_[i].second), [this] { return finished_; })) return;
    ::kill(-group_, pause_signal_);
    actual_.push_back({running_since_, unix_now_s()});
    running_ = false;
    // Paused until the next interval, unless a signal passed on to the command (Ctrl-C, kill,
    // Slurm) continued it meanwhile: then it runs, and the intervals say so.
    const auto resume_at = system_time_of(planned_[i + 1].first);
    bool continued = false;
    while (!finished_ && std::chrono::system_clock::now() < resume_at) {
      wake_.wait_until(lock,
                       std::min(resume_at, std::chrono::system_clock::now() + std::chrono::milliseconds(50)),
                       [this] { return finished_; });
      if (take_group_continued_by_signal()) {
        continued = true;
        break;
      }
    }
    if (finished_) {
      ::kill(-group_, SIGCONT);  // never leave the command stopped
      return;
    }
    if (continued) {
      notes_.push_back("a signal passed on to the command continued it during a planned pause at " +
                       format_iso8601_utc(unix_now_s()));
    } else if (resume_command_.empty()) {
      ::kill(-group_, SIGCONT);
    } else {
      lock.unlock();
      const int status = run_resume_command(resume_command_, group_);
      lock.lock();
      if (status != 0 || stopped(group_)) {
        ::kill(-group_, SIGCONT);  // a plan never leaves a job stopped
        notes_.push_back("--resume-command " +
                         (status != 0 ? "failed (exit " + std::to_string(status) + ")"
                                      : std::string("left the command stopped")) +
                         " at " + format_iso8601_utc(unix_now_s()) + ": SIGCONT was sent instead");
      }
    }
    running_since_ = unix_now_s();
    running_ = true;
  }
}

std::vector<Interval> PauseResumeScheduler::finish(double end_unix_s) {
  {
    std::lock_guard lock(mutex_);
    finished_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (running_ && end_unix_s > running_since_) actual_.push_back({running_since_, end_unix_s});
  running_ = false;
  return actual_;
}

nlohmann::json measured_plan_saving(const RunReport& report, const std::vector<Interval>& actual,
                                    const IntensitySeries& series, double not_before_unix_s, double pue,
                                    double accounted_emissions_g) {
  // Each sample's energy in the running intervals, moved to where it would have fallen had the
  // command run from not_before without a pause; energy drawn while paused has no counterpart.
  std::vector<EnergyPiece> pieces;
  const double start = report.header.start_unix_s;
  for (const Sample& sample : report.samples) {
    const double to = start + sample.t_s, from = to - sample.dt_s;
    double active_before = 0.0;
    for (const Interval& run : actual) {
      const double a = std::max(from, run.first), b = std::min(to, run.second);
      if (b > a && sample.dt_s > 0)
        pieces.push_back({active_before + (a - run.first), active_before + (b - run.first),
                          sample.energy_j.total() / 3.6e6 * pue * (b - a) / sample.dt_s});
      active_before += run.second - run.first;
    }
  }
  nlohmann::json intervals = nlohmann::json::array();
  double active_s = 0.0;
  for (const Interval& run : actual) {
    intervals.push_back({format_iso8601_utc(run.first), format_iso8601_utc(run.second)});
    active_s += run.second - run.first;
  }
  const auto immediate_g = emissions_at_g(pieces, series, not_before_unix_s);
  nlohmann::json out = {
      {"actual_intervals", intervals},
      {"running_s", active_s},
      {"emissions_g", accounted_emissions_g},
      {"immediate_start", format_iso8601_utc(not_before_unix_s)},
      {"immediate_start_emissions_g", immediate_g ? nlohmann::json(*immediate_g) : nlohmann::json()}};
  if (immediate_g) {
    out["saved_g"] = *immediate_g - accounted_emissions_g;
    out["saved_pct"] = *immediate_g > 0 ? 100 * (*immediate_g - accounted_emissions_g) / *immediate_g : 0.0;
  }
  return out;
}

}  // namespace carbonmeter::cli
