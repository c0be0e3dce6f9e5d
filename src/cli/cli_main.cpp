#include "cli/cli_main.hpp"

#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "carbonmeter/version.hpp"

namespace carbonmeter::cli {

int cli_main(int argc, char** argv, const AddCommands& add_commands) {
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
  add_commands(app, after_double_dash, exit_code);
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

void add_serve_forwarder(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "serve", "the server for a team's runs (docs/api.md); `serve --help` for its options");
  cmd->allow_extras();
  cmd->prefix_command();
  cmd->set_help_flag();  // --help goes to carbonmeter-serve
  cmd->callback([cmd] {
    char self[PATH_MAX];
    const ssize_t length = ::readlink("/proc/self/exe", self, sizeof self - 1);
    std::string dir = length > 0 ? std::string(self, static_cast<std::size_t>(length)) : std::string();
    dir = dir.substr(0, dir.rfind('/') == std::string::npos ? 0 : dir.rfind('/'));
    const std::string server = (dir.empty() ? std::string(".") : dir) + "/carbonmeter-serve";
    std::vector<std::string> words = {server, "serve"};
    for (const std::string& word : cmd->remaining()) words.push_back(word);
    std::vector<char*> args;
    for (std::string& word : words) args.push_back(word.data());
    args.push_back(nullptr);
    std::fflush(nullptr);
    ::execv(server.c_str(), args.data());
    throw FatalError("serve: cannot run " + server + " (" + std::strerror(errno) +
                     "): it is installed beside carbonmeter; reinstall carbonmeter");
  });
}

}  // namespace carbonmeter::cli
