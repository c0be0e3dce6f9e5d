// The command line's common part: `--` handling, parsing, and turning errors into one line and an
// exit code. Shared by `carbonmeter` and `carbonmeter-serve`.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "cli/commands.hpp"

namespace carbonmeter::cli {

// add_commands registers the subcommands; after_double_dash holds what follows the first `--`.
using AddCommands =
    std::function<void(CLI::App& app, const std::vector<std::string>& after_double_dash, int& exit_code)>;
int cli_main(int argc, char** argv, const AddCommands& add_commands);

// `serve` in `carbonmeter`: runs `carbonmeter-serve serve ARGS...` from the same folder, so that
// the measuring commands do not load the server's database and TLS libraries at every start.
void add_serve_forwarder(CLI::App& app);

}  // namespace carbonmeter::cli
