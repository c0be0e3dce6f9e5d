// Runs the real carbonmeter program as a user would, hermetically (no user config, no Hugging Face
// settings, no location variables unless CARBONMETER_TEST_KEEP_LOCATION is set), and collects what
// it printed.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace carbonmeter::testing {

struct CliOutcome {
  int exit_code = -1;  // 128 + N when killed by signal N
  bool signalled = false;
  std::string out;
  std::string err;
};

// Environment changes for a child process: a value, or nullopt to unset the variable.
using EnvChanges = std::map<std::string, std::optional<std::string>>;

// Applies `env` to this process's environment: for a child, between fork and exec (never in the
// test process, whose other threads may read the environment).
void apply_env(const EnvChanges& env);

// The developer's own Hugging Face settings (cache, endpoint, token) and TLS trust settings, which
// a hermetic run clears.
const std::vector<const char*>& hub_settings_variables();

// `while_running` may act on the running process (e.g. signal it); `env` is applied in the child,
// after the hermetic changes.
CliOutcome run_carbonmeter(const std::vector<std::string>& args, const std::string& cwd = "/tmp",
                           const std::function<void(pid_t)>& while_running = nullptr,
                           const EnvChanges& env = {});

std::string slurp(const std::string& path);

// For `while_running`: waits (polling every 5 ms, at most timeout_s) until `ready` is true; a
// sanitizer build starts several times slower, so a test waits for a state, not for a time.
bool wait_until(const std::function<bool()>& ready, double timeout_s = 30.0);
// Whether the process has a child (e.g. `carbonmeter run` has started its command).
bool has_child_process(pid_t pid);
// How many bytes the process has written to its file descriptor `fd` when that is a file (the
// output files run_carbonmeter gives it).
std::uintmax_t bytes_written_to(pid_t pid, int fd);

}  // namespace carbonmeter::testing
