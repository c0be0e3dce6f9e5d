// carbonmeter-serve: `carbonmeter serve` (docs/api.md), a program of its own so that the measuring
// commands do not load the database and TLS libraries; `carbonmeter serve` runs it.
#include <string>
#include <vector>

#include "cli/cli_main.hpp"

int main(int argc, char** argv) {
  using namespace carbonmeter::cli;
  return cli_main(argc, argv, [](CLI::App& app, const std::vector<std::string>&, int& exit_code) {
    add_serve_command(app, exit_code);
  });
}
