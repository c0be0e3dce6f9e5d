#include "optimize/limit_restorer.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <mutex>
#include <system_error>
#include <thread>

namespace carbonmeter {
namespace {

constexpr std::size_t kSlots = 16;
std::array<std::atomic<LimitsToRestore*>, kSlots> watched{};
std::atomic<int> restores_running{0};
constexpr std::array<int, 2> kSignals = {SIGINT, SIGTERM};
std::array<struct sigaction, kSignals.size()> previous{};
// How long a handler waits for the restorer thread before it lets the signal go on regardless
// (a restorer stuck behind a lock that the interrupted thread holds must not hang the process).
constexpr int kRestoreWaitMs = 5000;

// The restorer thread of this process: the signal handler asks it through the request pipe and
// waits for its answer on the reply pipe, because NVML must not be called from a signal handler.
// A forked child has no such thread (restorer_pid tells) until it watches limits of its own.
std::atomic<pid_t> restorer_pid{0};
enum Pipe { kRequestRead, kRequestWrite, kReplyRead, kReplyWrite };
std::array<std::atomic<int>, 4> restorer_fds{-1, -1, -1, -1};
std::mutex restorer_start;

sigset_t held_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int signal_number : kSignals) sigaddset(&set, signal_number);
  return set;
}

void restore_every_watched() {
  restores_running.fetch_add(1);
  for (auto& slot : watched)
    if (LimitsToRestore* limits = slot.load(std::memory_order_acquire)) {
      limits->restored_by_signal.store(true);
      limits->restore_now();
    }
  restores_running.fetch_sub(1);
}

void restorer_loop(int requests, int replies) {
  for (;;) {
    char byte = 0;
    const ssize_t got = ::read(requests, &byte, 1);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return;
    restore_every_watched();
    while (::write(replies, &byte, 1) < 0 && errno == EINTR) {
    }
  }
}

bool start_restorer_thread() {
  std::lock_guard lock(restorer_start);
  const pid_t self = ::getpid();
  if (restorer_pid.load() == self) return true;
  // After a fork, the pipes inherited from the parent belong to the parent's restorer.
  for (std::atomic<int>& fd : restorer_fds)
    if (const int old = fd.exchange(-1); old >= 0) ::close(old);
  int requests[2], replies[2];
  if (::pipe2(requests, O_CLOEXEC) != 0) return false;
  if (::pipe2(replies, O_CLOEXEC) != 0) {
    ::close(requests[0]);
    ::close(requests[1]);
    return false;
  }
  restorer_fds[kRequestRead] = requests[0];
  restorer_fds[kRequestWrite] = requests[1];
  restorer_fds[kReplyRead] = replies[0];
  restorer_fds[kReplyWrite] = replies[1];
  // Every signal is blocked in the restorer thread, so that no handler ever waits on itself.
  sigset_t all, before;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &before);
  try {
    std::thread(restorer_loop, requests[0], replies[1]).detach();
  } catch (const std::system_error&) {
    pthread_sigmask(SIG_SETMASK, &before, nullptr);
    return false;
  }
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
  restorer_pid.store(self);
  return true;
}

// Async-signal-safe: write, poll and read only.
void ask_restorer_and_wait() {
  const int requests = restorer_fds[kRequestWrite].load(), replies = restorer_fds[kReplyRead].load();
  char byte = 1;
  while (::write(requests, &byte, 1) < 0)
    if (errno != EINTR) return;
  pollfd answer{replies, POLLIN, 0};
  int ready;
  while ((ready = ::poll(&answer, 1, kRestoreWaitMs)) < 0 && errno == EINTR) {
  }
  if (ready == 1) ::read(replies, &byte, 1);
}

void chain(std::size_t which, int signal_number, siginfo_t* info, void* context) {
  const struct sigaction& before = previous[which];
  if (before.sa_flags & SA_SIGINFO) {
    if (before.sa_sigaction) before.sa_sigaction(signal_number, info, context);
    return;
  }
  if (before.sa_handler == SIG_IGN) return;
  if (before.sa_handler == SIG_DFL) {
    // The default action (ending the process) once this handler returns: the signal is blocked
    // while it runs, so raising it now leaves it pending.
    ::sigaction(signal_number, &before, nullptr);
    ::raise(signal_number);
    return;
  }
  before.sa_handler(signal_number);
}

void on_signal(int signal_number, siginfo_t* info, void* context) {
  const int saved_errno = errno;
  if (restorer_pid.load() == ::getpid()) ask_restorer_and_wait();
  for (std::size_t k = 0; k < kSignals.size(); ++k)
    if (kSignals[k] == signal_number) chain(k, signal_number, info, context);
  errno = saved_errno;
}

void install_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (std::size_t k = 0; k < kSignals.size(); ++k) {
      struct sigaction current {};
      ::sigaction(kSignals[k], nullptr, &current);
      if (!(current.sa_flags & SA_SIGINFO) && current.sa_handler == SIG_IGN) continue;  // nohup and the like
      struct sigaction mine {};
      mine.sa_sigaction = on_signal;
      // Keep the previous handler's choice of restarting system calls (Python's does not, so
      // that Ctrl-C interrupts a blocking call), and hold both signals while either is handled.
      mine.sa_flags = SA_SIGINFO | (current.sa_flags & SA_RESTART);
      mine.sa_mask = current.sa_mask;
      for (int signal_number : kSignals) sigaddset(&mine.sa_mask, signal_number);
      ::sigaction(kSignals[k], &mine, &previous[k]);
    }
  });
}

}  // namespace

bool LimitsToRestore::restore_now() noexcept {
  bool all = true;
  for (std::size_t i = 0; i < original_mw.size(); ++i)
    all = control->set_limit_mw_quietly(i, original_mw[i]) && all;
  return all;
}

bool watch_for_signals(LimitsToRestore* limits) {
  if (!start_restorer_thread()) return false;
  install_once();
  for (auto& slot : watched) {
    LimitsToRestore* empty = nullptr;
    if (slot.compare_exchange_strong(empty, limits)) return true;
  }
  return false;
}

void unwatch_for_signals(LimitsToRestore* limits) {
  for (auto& slot : watched) {
    LimitsToRestore* expected = limits;
    slot.compare_exchange_strong(expected, nullptr);
  }
  while (restores_running.load() > 0) sched_yield();  // the restorer thread may still use it
}

SignalsHeld::SignalsHeld() {
  const sigset_t set = held_signals();
  pthread_sigmask(SIG_BLOCK, &set, &previous_);
}

SignalsHeld::~SignalsHeld() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }

}  // namespace carbonmeter
