// carbonmeter report --recover DIR: rebuilds the report of a run from its journal, up to the
// last sample, after carbonmeter or the machine died.
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/summary.hpp"
#include "core/journal.hpp"

namespace carbonmeter::cli {
namespace {

struct ReportOptions {
  std::string recover_dir;
  std::string journal_path;
  std::string json_path;
};

int report(const ReportOptions& options) {
  if (options.recover_dir.empty() && options.journal_path.empty())
    throw UsageError("report: give --recover DIR (the run's --output-dir) or --journal FILE");
  check_writable_file(options.json_path, "--json");
  std::string path = options.journal_path;
  if (path.empty()) {
    auto newest = newest_journal(options.recover_dir);
    if (!newest) throw FatalError("report --recover: " + newest.error().message);
    path = newest.value();
  }
  auto recovered = recover_journal(path);
  if (!recovered) throw FatalError("report: " + recovered.error().message);
  std::fputs(format_summary(recovered.value()).c_str(), stderr);
  if (!options.json_path.empty())
    if (auto written = write_report_json(recovered.value(), options.json_path); !written)
      throw FatalError(written.error().message);
  return 0;
}

}  // namespace

void add_report_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ReportOptions>();
  CLI::App* cmd = app.add_subcommand("report", "Rebuild a run's report from its journal");
  cmd->add_option("--recover", options->recover_dir, "The run's output folder: uses its newest journal");
  cmd->add_option("--journal", options->journal_path, "A specific journal file");
  cmd->add_option("--json", options->json_path, "Write the rebuilt report (JSON) to this file");
  cmd->callback([options, &exit_code] { exit_code = report(*options); });
}

}  // namespace carbonmeter::cli
