// Each subcommand registers its options and its action on the top-level CLI11 app.
#pragma once

#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace carbonmeter::cli {

// Bad usage: one line on stderr, exit 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A fatal failure (missing file, unwritable folder): one line on stderr, exit 1.
struct FatalError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Each sets exit_code when its action runs.
// after_double_dash: the words after the first `--` on the command line (the command to run).
void add_run_command(CLI::App& app, const std::vector<std::string>& after_double_dash, int& exit_code);
void add_monitor_command(CLI::App& app, int& exit_code);
void add_hardware_command(CLI::App& app, int& exit_code);
void add_report_command(CLI::App& app, int& exit_code);
void add_intensity_command(CLI::App& app, int& exit_code);
void add_estimate_command(CLI::App& app, int& exit_code);
void add_plan_command(CLI::App& app, int& exit_code);
void add_whatif_command(CLI::App& app, int& exit_code);
void add_serve_command(CLI::App& app, int& exit_code);
void add_upload_command(CLI::App& app, int& exit_code);
void add_power_limit_command(CLI::App& app, int& exit_code);
void add_hub_command(CLI::App& app, int& exit_code);
void add_vm_export_command(CLI::App& app, int& exit_code);
void add_agent_command(CLI::App& app, int& exit_code);

// Blocks SIGINT, SIGTERM and SIGHUP in this thread and the threads it starts from now on, for a
// long-running command that waits for them (sigtimedwait, signalfd); returns the set.
sigset_t block_stop_signals();

// Shared option checks.
void check_interval(double interval_s);
// --journal-sync: 0 (every sample) to 3600 s.
void check_journal_sync(double journal_sync_s);
// Adds --journal-sync to a command that keeps a journal.
void add_journal_sync_option(CLI::App& command, double& journal_sync_s);
void check_writable_file(const std::string& path, const std::string& option);
// A file carbonmeter reads whole (a series, a profile, a run report): refused, with a clear
// message, when it is larger than max_bytes (a 2 GB file named by mistake must not be read into
// memory) or a folder. A missing file is left to the reader's own message.
constexpr std::uint64_t kMaxInputFileBytes = std::uint64_t{256} << 20;
void check_input_file(const std::string& path, const std::string& option,
                      std::uint64_t max_bytes = kMaxInputFileBytes);
// The file of an --intensity-series FILE[:COLUMN].
std::string series_file(const std::string& spec);

}  // namespace carbonmeter::cli
