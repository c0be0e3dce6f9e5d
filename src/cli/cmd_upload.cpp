// carbonmeter upload --server URL SPOOL...: sends what run or monitor left in a spool when the
// server did not take it (down, or the run ended first). Safe to repeat: the server stores each
// (run_id, seq) once.
#include <cstdio>
#include <memory>

#include "cli/commands.hpp"
#include "cli/server_options.hpp"
#include "upload/run_uploader.hpp"

namespace carbonmeter::cli {
namespace {

struct UploadFlags {
  std::string url;
  std::string api_key;
  std::vector<std::string> spools;
};

int upload(const UploadFlags& flags) {
  const std::unique_ptr<upload::ServerClient> connected = connect_server(flags.url, flags.api_key);
  upload::ServerClient& client = *connected;
  int status = 0;
  for (const std::string& path : flags.spools) {
    // Only a spool is sent, and removed once sent: a file named by mistake is left alone.
    const std::string suffix = ".spool.jsonl";
    if (path.size() < suffix.size() ||
        path.compare(path.size() - suffix.size(), suffix.size(), suffix) != 0) {
      std::fprintf(
          stderr,
          "carbonmeter: %s: not a spool (run and monitor write carbonmeter-RUN_ID%s); left as it is\n",
          path.c_str(), suffix.c_str());
      status = 1;
      continue;
    }
    upload::Spool spool(path);
    if (!spool.exists()) {
      std::fprintf(stderr, "carbonmeter: %s: no such spool (already sent, or a wrong path?)\n", path.c_str());
      status = 1;
      continue;
    }
    const upload::ReplayOutcome sent = upload::replay_spool(client, spool);
    if (!sent.complete) {
      std::fprintf(
          stderr, "carbonmeter: %s: %s; %lld samples sent, the rest stays in the spool: %s\n", path.c_str(),
          sent.error.c_str(), static_cast<long long>(sent.sent),
          sent.retryable ? "run this again later" : "fix what the server refused, then run this again");
      status = 1;
      continue;
    }
    std::fprintf(stderr, "carbonmeter: %s: %lld samples sent to %s; spool removed\n", path.c_str(),
                 static_cast<long long>(sent.sent), client.url().text().c_str());
  }
  return status;
}

}  // namespace

void add_upload_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<UploadFlags>();
  CLI::App* cmd = app.add_subcommand(
      "upload", "Send the samples a run left in its spool (carbonmeter-RUN_ID.spool.jsonl) to the server");
  cmd->add_option("--server", flags->url, "The carbonmeter server: http://HOST:PORT")->required();
  cmd->add_option("--api-key", flags->api_key, "The project token (default: CARBONMETER_API_KEY)");
  cmd->add_option("spools", flags->spools, "Spool files")->required();
  cmd->callback([flags, &exit_code] { exit_code = upload(*flags); });
}

}  // namespace carbonmeter::cli
