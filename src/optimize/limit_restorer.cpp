#include "optimize/limit_restorer.hpp"

#include <pthread.h>
#include <sched.h>

#include <array>
#include <mutex>

namespace carbonmeter {
namespace {

constexpr std::size_t kSlots = 16;
std::array<std::atomic<LimitsToRestore*>, kSlots> watched{};
std::atomic<int> handlers_running{0};
constexpr std::array<int, 2> kSignals = {SIGINT, SIGTERM};
std::array<struct sigaction, kSignals.size()> previous{};

sigset_t held_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int signal_number : kSignals) sigaddset(&set, signal_number);
  return set;
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
  handlers_running.fetch_add(1);
  for (auto& slot : watched)
    if (LimitsToRestore* limits = slot.load(std::memory_order_acquire)) {
      limits->restored_by_signal.store(true);
      limits->restore_now();
    }
  handlers_running.fetch_sub(1);
  for (std::size_t k = 0; k < kSignals.size(); ++k)
    if (kSignals[k] == signal_number) chain(k, signal_number, info, context);
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
  while (handlers_running.load() > 0) sched_yield();  // a handler on another thread may still use it
}

SignalsHeld::SignalsHeld() {
  const sigset_t set = held_signals();
  pthread_sigmask(SIG_BLOCK, &set, &previous_);
}

SignalsHeld::~SignalsHeld() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }

}  // namespace carbonmeter
