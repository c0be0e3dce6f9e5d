#include "cli/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

namespace carbonmeter {
namespace {

volatile sig_atomic_t g_forward_pid = 0;
volatile sig_atomic_t g_forward_to_group = 0;
volatile sig_atomic_t g_group_continued = 0;

void forward_handler(int signal_number, siginfo_t* info, void*) {
  if (g_forward_pid <= 0) return;
  if (g_forward_to_group) {
    // The command has a process group of its own: nothing reaches it unless passed on, and a
    // stopped (paused) group must be continued to act on a signal that ends it.
    ::kill(-static_cast<pid_t>(g_forward_pid), signal_number);
    if (signal_number != SIGUSR1 && signal_number != SIGUSR2) {
      ::kill(-static_cast<pid_t>(g_forward_pid), SIGCONT);
      g_group_continued = 1;
    }
    return;
  }
  // Signals from the kernel (a terminal's Ctrl-C hits the whole foreground group) already reached
  // the child; so did those sent to our process group. Those sent to carbonmeter alone (kill PID,
  // Slurm, a supervisor) are passed on.
  if (info && info->si_code == SI_KERNEL) return;
  ::kill(static_cast<pid_t>(g_forward_pid), signal_number);
}

double rusage_cpu_s(const rusage& usage) {
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

}  // namespace

constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

sigset_t forwarded_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int signal_number : kForwarded) sigaddset(&set, signal_number);
  return set;
}

void forward_signals_to(pid_t pid, bool own_process_group) {
  g_forward_pid = pid;
  g_forward_to_group = own_process_group ? 1 : 0;
  struct sigaction action {};
  action.sa_sigaction = forward_handler;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&action.sa_mask);
  for (int signal_number : kForwarded) ::sigaction(signal_number, &action, nullptr);
}

void stop_forwarding_signals() {
  g_forward_pid = 0;
  for (int signal_number : kForwarded) std::signal(signal_number, SIG_DFL);
}

bool take_group_continued_by_signal() {
  const bool continued = g_group_continued != 0;
  g_group_continued = 0;
  return continued;
}

void become_subreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 1); }

Result<ChildProcess> ChildProcess::spawn(const std::vector<std::string>& command, const sigset_t& signal_mask,
                                         bool own_process_group) {
  if (command.empty()) return Error{"no command given"};
  int go[2], error[2];
  if (::pipe2(go, O_CLOEXEC) != 0) return Error{std::string("pipe: ") + std::strerror(errno)};
  if (::pipe2(error, O_CLOEXEC) != 0) {
    ::close(go[0]);
    ::close(go[1]);
    return Error{std::string("pipe: ") + std::strerror(errno)};
  }
  std::vector<char*> argv;
  for (const std::string& arg : command) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) return Error{std::string("fork: ") + std::strerror(errno)};
  if (pid == 0) {
    if (own_process_group) ::setpgid(0, 0);
    ::close(go[1]);
    ::close(error[0]);
    char byte = 0;
    ssize_t n;
    while ((n = ::read(go[0], &byte, 1)) < 0 && errno == EINTR) {
    }
    if (n != 1) ::_exit(125);  // carbonmeter failed before the baseline: never run unmeasured
    ::sigprocmask(SIG_SETMASK, &signal_mask, nullptr);
    ::execvp(argv[0], argv.data());
    int saved = errno;
    (void)!::write(error[1], &saved, sizeof saved);
    ::_exit(saved == ENOENT ? 127 : 126);
  }
  if (own_process_group) ::setpgid(pid, pid);  // both sides, so neither races the other
  ::close(go[0]);
  ::close(error[1]);
  return ChildProcess(pid, go[1], error[0]);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(other.pid_), go_fd_(other.go_fd_), error_fd_(other.error_fd_) {
  other.go_fd_ = other.error_fd_ = -1;
  other.pid_ = -1;
}

ChildProcess::~ChildProcess() {
  if (go_fd_ >= 0) ::close(go_fd_);
  if (error_fd_ >= 0) ::close(error_fd_);
}

Status ChildProcess::release(int& exit_code_on_failure) {
  char byte = 1;
  (void)!::write(go_fd_, &byte, 1);
  ::close(go_fd_);
  go_fd_ = -1;
  int child_errno = 0;
  ssize_t n;
  while ((n = ::read(error_fd_, &child_errno, sizeof child_errno)) < 0 && errno == EINTR) {
  }
  ::close(error_fd_);
  error_fd_ = -1;
  if (n == sizeof child_errno) {
    exit_code_on_failure = child_errno == ENOENT ? 127 : 126;
    return Error{std::strerror(child_errno)};
  }
  return Ok{};
}

int ChildProcess::wait(const std::function<void(pid_t, double)>& on_reaped) {
  for (;;) {
    int status = 0;
    rusage usage{};
    pid_t reaped = ::wait4(-1, &status, 0, &usage);
    if (reaped < 0) {
      if (errno == EINTR) continue;
      return 1;  // ECHILD: nothing left to wait for (should not happen before our child)
    }
    if (on_reaped) on_reaped(reaped, rusage_cpu_s(usage));
    if (reaped != pid_) continue;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 1;
  }
}

}  // namespace carbonmeter
