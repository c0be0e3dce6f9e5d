// Real processes that burn CPU, for attribution tests.
#pragma once

#include <sys/types.h>

namespace carbonmeter::testing {

// Spins on the CPU for cpu_seconds of wall time, then returns.
void burn_cpu(double seconds);
// Forks a process that burns CPU for `seconds` and exits 0.
pid_t spawn_burner(double seconds);
// Forks a process that forks `children` burners of `seconds` each (one of them short-lived,
// reaped early), burns `seconds` itself, waits for them and exits.
pid_t spawn_burner_tree(int children, double seconds);
// waitpid and return the exit status, or -1.
int wait_for(pid_t pid);

}  // namespace carbonmeter::testing
