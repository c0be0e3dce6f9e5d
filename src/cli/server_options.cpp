#include "cli/server_options.hpp"

#include <cmath>
#include <cstdio>

#include "cli/commands.hpp"

namespace carbonmeter::cli {
namespace {

std::string refusal_hint(int status) {
  switch (status) {
    case 401:
      return "check --api-key (or CARBONMETER_API_KEY): it must be a project token the server issued";
    case 403:
      return "the key belongs to another project: use that project's --project-name or its token";
    case 404:
      return "create the project on the server first (POST /api/v1/projects, docs/api.md) or pass "
             "--project-name";
    case 409:
      return "give this run another --job-id, rank or scope (docs/api.md, \"Multi-node jobs\")";
    default:
      return "the server refused the run; see docs/api.md";
  }
}

}  // namespace

void add_server_options(CLI::App& command, ServerFlags& flags) {
  command.add_option(
      "--server", flags.url,
      "Send the run to a carbonmeter server as it is measured: http://HOST:PORT (docs/api.md)");
  command.add_option("--api-key", flags.api_key,
                     "The project token for --server (default: CARBONMETER_API_KEY)");
  command.add_option("--experiment", flags.experiment, "The experiment the run belongs to on --server");
  command
      .add_option("--server-wait", flags.wait_s,
                  "Seconds to keep trying at the end when --server does not answer, before leaving the "
                  "rest in the spool")
      ->capture_default_str();
}

std::unique_ptr<upload::RunUploader> make_uploader(const ServerFlags& flags, const std::string& spool_dir,
                                                   const ResolvedLocation& location) {
  if (flags.url.empty()) {
    if (!flags.api_key.empty() || !flags.experiment.empty())
      throw UsageError("--api-key and --experiment go with --server URL");
    return nullptr;
  }
  auto url = upload::parse_server_url(flags.url);
  if (!url) throw UsageError(url.error().message);
  auto key = upload::resolve_api_key(flags.api_key);
  if (!key) throw UsageError(key.error().message);
  if (flags.experiment.size() > 128 || flags.experiment.find('/') != std::string::npos)
    throw UsageError("--experiment '" + flags.experiment + "': use at most 128 characters and no '/'");
  if (!std::isfinite(flags.wait_s) || flags.wait_s < 0 || flags.wait_s > 86400)
    throw UsageError("--server-wait must be a number of seconds from 0 to 86400");
  upload::UploadOptions options;
  options.experiment = flags.experiment;
  options.final_timeout_s = flags.wait_s;
  auto client = upload::ServerClient::connect(url.value(), key.value());
  if (!client) throw FatalError("--server: " + client.error().message);
  return std::make_unique<upload::RunUploader>(std::move(client).value(), spool_dir, location, options);
}

void register_with_server(upload::RunUploader& uploader, const RunHeader& header, bool quiet) {
  const upload::ServerAnswer answer = uploader.register_run(header);
  if (answer.ok()) return;
  if (!answer.retryable()) throw FatalError("--server: " + answer.error + ": " + refusal_hint(answer.status));
  if (!quiet)
    std::fprintf(stderr,
                 "carbonmeter: %s: measuring anyway; samples wait in %s until the server takes them\n",
                 answer.error.c_str(), uploader.spool_path().c_str());
}

void finish_with_server(upload::RunUploader& uploader, double ended_unix_s, bool quiet) {
  const upload::UploadOutcome outcome = uploader.finish(ended_unix_s);
  if (!outcome.spool_left) {
    if (!quiet)
      std::fprintf(stderr, "  server  %lld samples sent to %s\n", static_cast<long long>(outcome.samples),
                   uploader.server_url().c_str());
    return;
  }
  std::fprintf(
      stderr,
      "carbonmeter: the server did not take everything (%s): what is left is kept in %s; send it "
      "later with: carbonmeter upload --server %s %s (the key from --api-key or CARBONMETER_API_KEY)\n",
      outcome.last_error.c_str(), uploader.spool_path().c_str(), uploader.server_url().c_str(),
      uploader.spool_path().c_str());
}

}  // namespace carbonmeter::cli
