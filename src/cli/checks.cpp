#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "cli/commands.hpp"

namespace carbonmeter::cli {

sigset_t block_stop_signals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  return stop_signals;
}

void check_interval(double interval_s) {
  if (!std::isfinite(interval_s) || interval_s < 0.01 || interval_s > 3600)
    throw UsageError(fmt::format("--interval {} is out of range: use 0.01 to 3600 seconds", interval_s));
}

void check_writable_file(const std::string& path, const std::string& option) {
  if (path.empty()) return;  // not asked for
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (!ec && std::filesystem::exists(status) &&
      (std::filesystem::is_symlink(std::filesystem::symlink_status(path, ec)) ||
       (!std::filesystem::is_regular_file(status) && !std::filesystem::is_directory(status)))) {
    // /dev/stdout, a pipe, a link: written in place.
    if (::access(path.c_str(), W_OK) != 0) throw FatalError(fmt::format("{} {}: not writable", option, path));
    return;
  }
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) parent = ".";
  if (!std::filesystem::is_directory(parent, ec))
    throw FatalError(fmt::format("{} {}: folder {} does not exist: create it or choose another path", option,
                                 path, parent.string()));
  if (::access(parent.c_str(), W_OK) != 0)
    throw FatalError(
        fmt::format("{} {}: folder {} is not writable: choose another path", option, path, parent.string()));
  if (std::filesystem::is_directory(path, ec))
    throw FatalError(fmt::format("{} {}: is a folder; give a file name", option, path));
}

}  // namespace carbonmeter::cli
