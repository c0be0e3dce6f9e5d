// Starting the measured command and waiting for it: the child waits on a pipe until the tracker
// has its baseline, exec failures come back through a close-on-exec pipe, and signals sent to
// carbonmeter by another process are forwarded to the child.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "carbonmeter/result.hpp"

namespace carbonmeter {

class ChildProcess {
 public:
  // Forks; the child is held before exec until release() is called, and exits 125 without running
  // the command if carbonmeter goes away before that. The child restores signal_mask before exec.
  // own_process_group: the command leads a process group of its own (its pid), so that it can be
  // paused and continued as a whole (SIGSTOP/SIGCONT to -pid).
  static Result<ChildProcess> spawn(const std::vector<std::string>& command, const sigset_t& signal_mask,
                                    bool own_process_group = false);
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  // Lets the child exec; returns an error (and the exit code to use, 126 or 127) if exec failed.
  Status release(int& exit_code_on_failure);
  // Waits for the child, reaping any other process re-parented to us on the way (on_reaped gets
  // each reaped process's CPU time in seconds). Returns the shell-style exit code: the child's
  // status, or 128 + N when signal N killed it.
  int wait(const std::function<void(pid_t, double cpu_s)>& on_reaped);

 private:
  ChildProcess(pid_t pid, int go_fd, int error_fd) : pid_(pid), go_fd_(go_fd), error_fd_(error_fd) {}
  pid_t pid_ = -1;
  int go_fd_ = -1;
  int error_fd_ = -1;
};

// The signals carbonmeter forwards: SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2.
sigset_t forwarded_signals();
// Forward those signals to pid when another process sends them to carbonmeter (a terminal's
// Ctrl-C already reaches the child: it is not sent twice). Signals aimed at the whole process
// group (kill -PGID) reach the child directly and are not forwarded either. With
// own_process_group, every one of them is passed on to the command's group (followed by SIGCONT
// for those that end it, in case the group is paused).
void forward_signals_to(pid_t pid, bool own_process_group = false);
// The command has ended: the forwarded signals take their default action again (Ctrl-C ends
// carbonmeter), and nothing is sent to a process id that may have been reused.
void stop_forwarding_signals();
// True once after a forwarded signal has continued the command's (possibly paused) group.
bool take_group_continued_by_signal();
// Makes carbonmeter the reaper of orphaned descendants, so their CPU time is not lost.
void become_subreaper();

}  // namespace carbonmeter
