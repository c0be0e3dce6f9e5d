// A program started by a test, killed (SIGKILL) and reaped when the guard goes away, so that no
// process outlives a test that fails halfway; it also dies with the test process (PDEATHSIG).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "support/run_cli.hpp"

namespace carbonmeter::testing {

class ProcessGuard {
 public:
  // Runs argv[0] (a path) with the test's environment changed by `env` (nullopt: unset), stdout
  // and stderr to files of their own.
  ProcessGuard(const std::vector<std::string>& argv, const EnvChanges& env = {});
  ~ProcessGuard();
  ProcessGuard(const ProcessGuard&) = delete;
  ProcessGuard& operator=(const ProcessGuard&) = delete;

  pid_t pid() const { return pid_; }
  // Waits up to timeout_s for the program to exit; its exit code (128 + N when signal N killed
  // it), or nullopt when it still runs.
  std::optional<int> wait(double timeout_s);
  bool running();
  void signal(int number) const;
  std::string out() const;
  std::string err() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string out_path_;
  std::string err_path_;
};

// The environment changes that make a carbonmeter run hermetic, as run_carbonmeter does (no user
// config, no location variables, no Hugging Face settings) and with no Slurm or torchrun job around
// it.
EnvChanges hermetic_cli_env();

// A TCP port on 127.0.0.1 that nothing listened on a moment ago.
int free_loopback_port();

}  // namespace carbonmeter::testing
