// carbonmeter: measures the energy (and, later, the emissions) of computations.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "carbonmeter/version.hpp"
#include "cli/commands.hpp"

int main(int argc, char** argv) {
  using namespace carbonmeter::cli;
  CLI::App app{"carbonmeter: measures the energy a computation uses, and says how each number was obtained"};
  app.set_version_flag("--version", std::string(carbonmeter::kVersion));
  app.require_subcommand(1);
  // CLI11 parses what comes before `--`; what follows is the command `run` measures, verbatim.
  std::vector<std::string> words(argv + 1, argv + argc);
  std::vector<std::string> after_double_dash;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (words[i] == "--") {
      after_double_dash.assign(words.begin() + static_cast<long>(i) + 1, words.end());
      words.resize(i);
      break;
    }
  }
  std::reverse(words.begin(), words.end());  // CLI11 takes the arguments in reverse order
  int exit_code = 0;
  add_run_command(app, after_double_dash, exit_code);
  add_monitor_command(app, exit_code);
  add_hardware_command(app, exit_code);
  add_report_command(app, exit_code);
  add_intensity_command(app, exit_code);
  add_estimate_command(app, exit_code);
  add_plan_command(app, exit_code);
  add_whatif_command(app, exit_code);
  try {
    app.parse(words);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr,
                 "carbonmeter: %s\nRun 'carbonmeter --help' (or 'carbonmeter COMMAND --help') for usage.\n",
                 e.what());
    return 2;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "carbonmeter: %s\n", e.what());
    return 2;
  } catch (const FatalError& e) {
    std::fprintf(stderr, "carbonmeter: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "carbonmeter: internal error: %s (please report it)\n", e.what());
    return 70;
  }
  return exit_code;
}
