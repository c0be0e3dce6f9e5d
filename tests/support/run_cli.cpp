#include "support/run_cli.hpp"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace carbonmeter::testing {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

bool wait_until(const std::function<bool()>& ready, double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (!ready()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

bool has_child_process(pid_t pid) {
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
    std::ifstream children(task.path() / "children");
    pid_t child = 0;
    if (children >> child) return true;
  }
  return false;
}

std::uintmax_t bytes_written_to(pid_t pid, int fd) {
  std::error_code ec;
  const std::uintmax_t size =
      std::filesystem::file_size("/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd), ec);
  return ec ? 0 : size;
}

void apply_env(const EnvChanges& env) {
  for (const auto& [name, value] : env) {
    if (value)
      ::setenv(name.c_str(), value->c_str(), 1);
    else
      ::unsetenv(name.c_str());
  }
}

const std::vector<const char*>& hub_settings_variables() {
  static const std::vector<const char*> names = {"HF_HUB_CACHE",   "HUGGINGFACE_HUB_CACHE", "HF_HOME",
                                                 "XDG_CACHE_HOME", "HF_ENDPOINT",           "HF_TOKEN",
                                                 "SSL_CERT_FILE",  "SSL_CERT_DIR"};
  return names;
}

CliOutcome run_carbonmeter(const std::vector<std::string>& args, const std::string& cwd,
                           const std::function<void(pid_t)>& while_running, const EnvChanges& env) {
  char out_path[] = "/tmp/carbonmeter-cli-out-XXXXXX";
  char err_path[] = "/tmp/carbonmeter-cli-err-XXXXXX";
  const int out_fd = ::mkstemp(out_path), err_fd = ::mkstemp(err_path);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    if (::chdir(cwd.c_str()) != 0) ::_exit(99);
    // Hermetic: the developer's own config and location variables stay out of the tests.
    ::setenv("HOME", "/nonexistent/carbonmeter-test-home", 1);
    ::unsetenv("XDG_CONFIG_HOME");
    if (!::getenv("CARBONMETER_TEST_KEEP_LOCATION"))
      for (const char* name :
           {"CARBONMETER_CARBON_INTENSITY", "CARBONMETER_INTENSITY_SERIES", "CARBONMETER_CLOUD",
            "CARBONMETER_ZONE", "CARBONMETER_COUNTRY", "CARBONMETER_PUE", "CARBONMETER_WUE"})
        ::unsetenv(name);
    for (const char* name : hub_settings_variables()) ::unsetenv(name);
    // Whether the test machine is a container (CI's is) is not the test's business: tests that
    // want one say so, or fake PID 1's root under a fake procfs.
    ::setenv("CARBONMETER_CONTAINER", "none", 1);
    apply_env(env);
    std::vector<char*> argv{const_cast<char*>(CARBONMETER_CLI_PATH)};
    for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    ::execv(CARBONMETER_CLI_PATH, argv.data());
    ::_exit(98);
  }
  if (while_running) while_running(pid);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CliOutcome outcome;
  outcome.signalled = WIFSIGNALED(status);
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  outcome.out = slurp(out_path);
  outcome.err = slurp(err_path);
  ::close(out_fd);
  ::close(err_fd);
  ::unlink(out_path);
  ::unlink(err_path);
  return outcome;
}

}  // namespace carbonmeter::testing
