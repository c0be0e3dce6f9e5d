// Puts GPUs back at their original power limits when the process gets SIGINT or SIGTERM, then
// lets the handler that was there before run (the default one ends the process). NVML is not
// async-signal-safe, so the handler only wakes a restorer thread (through a pipe) and waits for
// it to answer; carbonmeter's own NVML calls hold these signals (SignalsHeld), so that a change
// that a signal would cut is finished first and then undone.
#pragma once

#include <signal.h>

#include <atomic>
#include <vector>

#include "optimize/nvml_power_control.hpp"

namespace carbonmeter {

struct LimitsToRestore {
  NvmlPowerControl* control = nullptr;
  std::vector<unsigned> original_mw;
  // Set once a signal has put the limits back: nothing may be changed after it.
  std::atomic<bool> restored_by_signal{false};
  // Sets every GPU back (again, if need be: setting a limit twice is harmless); true when every
  // call succeeded.
  bool restore_now() noexcept;
};

// Watched until unwatched (at most 16 at once; more are not watched, which returns false, as
// does a process that cannot start the restorer thread). unwatch_for_signals waits for a restore
// that is using `limits` to finish.
bool watch_for_signals(LimitsToRestore* limits);
void unwatch_for_signals(LimitsToRestore* limits);

// Holds SIGINT and SIGTERM in this thread while it lives (threads started meanwhile inherit
// that): a signal that arrives is handled when it ends, outside the NVML call it would have cut.
class SignalsHeld {
 public:
  SignalsHeld();
  ~SignalsHeld();
  SignalsHeld(const SignalsHeld&) = delete;
  SignalsHeld& operator=(const SignalsHeld&) = delete;

 private:
  sigset_t previous_;
};

}  // namespace carbonmeter
