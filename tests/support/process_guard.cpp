#include "support/process_guard.hpp"

#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "support/run_cli.hpp"

namespace carbonmeter::testing {

ProcessGuard::ProcessGuard(const std::vector<std::string>& argv, const EnvChanges& env) {
  char out_path[] = "/tmp/carbonmeter-guard-out-XXXXXX";
  char err_path[] = "/tmp/carbonmeter-guard-err-XXXXXX";
  const int out_fd = ::mkstemp(out_path), err_fd = ::mkstemp(err_path);
  if (out_fd < 0 || err_fd < 0 || argv.empty()) throw std::runtime_error("ProcessGuard: cannot start");
  out_path_ = out_path;
  err_path_ = err_path;
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("ProcessGuard: fork failed");
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(97);  // the test died before prctl took effect
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    apply_env(env);
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(98);
  }
  ::close(out_fd);
  ::close(err_fd);
}

ProcessGuard::~ProcessGuard() {
  if (!exit_code_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  ::unlink(out_path_.c_str());
  ::unlink(err_path_.c_str());
}

std::optional<int> ProcessGuard::wait(double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (!exit_code_) {
    int status = 0;
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return exit_code_;
}

bool ProcessGuard::running() { return !wait(0).has_value(); }

void ProcessGuard::signal(int number) const {
  if (!exit_code_) ::kill(pid_, number);
}

std::string ProcessGuard::out() const { return slurp(out_path_); }
std::string ProcessGuard::err() const { return slurp(err_path_); }

EnvChanges hermetic_cli_env() {
  EnvChanges env;
  env["HOME"] = "/nonexistent/carbonmeter-test-home";
  for (const char* name : {"XDG_CONFIG_HOME", "CARBONMETER_CARBON_INTENSITY", "CARBONMETER_INTENSITY_SERIES",
                           "CARBONMETER_CLOUD", "CARBONMETER_ZONE", "CARBONMETER_COUNTRY", "CARBONMETER_PUE",
                           "CARBONMETER_WUE", "SLURM_JOB_ID", "SLURM_PROCID", "SLURM_LOCALID", "SLURM_NTASKS",
                           "TORCHELASTIC_RUN_ID", "RANK", "LOCAL_RANK", "WORLD_SIZE"})
    env[name] = std::nullopt;
  for (const char* name : hub_settings_variables()) env[name] = std::nullopt;
  env["CARBONMETER_CONTAINER"] = "none";  // as run_carbonmeter: the test machine may be a container
  return env;
}

int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    throw std::runtime_error("free_loopback_port: cannot bind");
  ::close(fd);
  return ntohs(address.sin_port);
}

}  // namespace carbonmeter::testing
