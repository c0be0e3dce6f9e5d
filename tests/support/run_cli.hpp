// Runs the real carbonmeter program as a user would, hermetically (no user config, no location
// variables unless CARBONMETER_TEST_KEEP_LOCATION is set), and collects what it printed.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace carbonmeter::testing {

struct CliOutcome {
  int exit_code = -1;  // 128 + N when killed by signal N
  bool signalled = false;
  std::string out;
  std::string err;
};

// `while_running` may act on the running process (e.g. signal it).
CliOutcome run_carbonmeter(const std::vector<std::string>& args, const std::string& cwd = "/tmp",
                           const std::function<void(pid_t)>& while_running = nullptr);

std::string slurp(const std::string& path);

}  // namespace carbonmeter::testing
