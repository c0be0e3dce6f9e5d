#include <fmt/format.h>
#include <sys/stat.h>
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

void check_journal_sync(double journal_sync_s) {
  if (!std::isfinite(journal_sync_s) || journal_sync_s < 0 || journal_sync_s > 3600)
    throw UsageError(fmt::format(
        "--journal-sync {} is out of range: use 0 (sync every sample) to 3600 seconds", journal_sync_s));
}

void add_journal_sync_option(CLI::App& command, double& journal_sync_s) {
  command
      .add_option("--journal-sync", journal_sync_s,
                  "Seconds between syncs of the journal to disk: what a power cut can lose (0 = every "
                  "sample; a killed carbonmeter loses nothing either way)")
      ->capture_default_str();
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

std::string series_file(const std::string& spec) {
  struct stat st {};
  if (::stat(spec.c_str(), &st) == 0) return spec;
  const auto colon = spec.rfind(':');
  return colon == std::string::npos ? spec : spec.substr(0, colon);
}

void check_input_file(const std::string& path, const std::string& option, std::uint64_t max_bytes) {
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return;  // the reader says what is missing
  if (S_ISDIR(st.st_mode)) throw FatalError(fmt::format("{} {}: is a folder; give a file", option, path));
  if (S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) > max_bytes)
    throw FatalError(
        fmt::format("{} {}: {} MiB is more than any such file carbonmeter reads ({} MiB at most): "
                    "is it the right file?",
                    option, path, static_cast<std::uint64_t>(st.st_size) >> 20, max_bytes >> 20));
}

}  // namespace carbonmeter::cli
