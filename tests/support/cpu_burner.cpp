#include "support/cpu_burner.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <vector>

namespace carbonmeter::testing {

void burn_cpu(double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  volatile unsigned long x = 0;
  while (std::chrono::steady_clock::now() < end)
    for (int i = 0; i < 10000; ++i) x = x + static_cast<unsigned long>(i);
}

pid_t spawn_burner(double seconds) {
  pid_t pid = ::fork();
  if (pid == 0) {
    burn_cpu(seconds);
    ::_exit(0);
  }
  return pid;
}

pid_t spawn_burner_tree(int children, double seconds) {
  pid_t pid = ::fork();
  if (pid == 0) {
    // A short-lived child first: it ends before anyone could discover it.
    pid_t quick = spawn_burner(0.2);
    ::waitpid(quick, nullptr, 0);
    std::vector<pid_t> pids;
    for (int i = 0; i < children; ++i) pids.push_back(spawn_burner(seconds));
    burn_cpu(seconds);
    for (pid_t child : pids) ::waitpid(child, nullptr, 0);
    ::_exit(0);
  }
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace carbonmeter::testing
