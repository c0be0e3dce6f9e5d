#include "cli/server_options.hpp"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "cli/commands.hpp"
#include "core/name_rules.hpp"

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
  flags.need_server = {
      command.add_option("--api-key", flags.api_key,
                         "The project token for --server (default: CARBONMETER_API_KEY)"),
      command.add_option("--experiment", flags.experiment, "The experiment the run belongs to on --server"),
      command
          .add_option("--server-wait", flags.wait_s,
                      "Seconds to keep trying at the end when --server does not answer, before leaving the "
                      "rest in the spool")
          ->capture_default_str()};
}

std::unique_ptr<upload::ServerClient> connect_server(const std::string& url,
                                                     const std::string& api_key_flag) {
  auto parsed = upload::parse_server_url(url);
  if (!parsed) throw UsageError(parsed.error().message);
  auto key = upload::resolve_api_key(api_key_flag);
  if (!key) throw UsageError(key.error().message);
  auto client = upload::ServerClient::connect(parsed.value(), key.value());
  if (!client) throw FatalError("--server: " + client.error().message);
  return std::move(client).value();
}

std::unique_ptr<upload::RunUploader> make_uploader(const ServerFlags& flags, const std::string& project_name,
                                                   const std::string& spool_dir,
                                                   const ResolvedLocation& location) {
  if (flags.url.empty()) {
    for (const CLI::Option* option : flags.need_server)
      if (option->count() > 0)
        throw UsageError("--api-key, --experiment and --server-wait go with --server URL");
    return nullptr;
  }
  // The server's own rule for names: a name it would refuse stops the run before it starts.
  if (auto checked = check_name(project_name, "--project-name"); !checked)
    throw UsageError(checked.error().message);
  if (!flags.experiment.empty())
    if (auto checked = check_name(flags.experiment, "--experiment"); !checked)
      throw UsageError(checked.error().message);
  if (!std::isfinite(flags.wait_s) || flags.wait_s < 0 || flags.wait_s > 86400)
    throw UsageError("--server-wait must be a number of seconds from 0 to 86400");
  std::unique_ptr<upload::ServerClient> client = connect_server(flags.url, flags.api_key);
  // What the server does not take waits in a spool there: a folder that cannot hold it would lose
  // samples in an outage, so it is an error before anything runs. A folder not there yet is
  // created, as the journal would create it.
  const std::string folder = spool_dir.empty() ? "." : spool_dir;
  std::error_code created;
  std::filesystem::create_directories(folder, created);
  if (created)
    throw UsageError("--server: cannot create the spool's folder '" + folder + "' (" + created.message() +
                     "): give a writable folder with --output-dir");
  if (::access(folder.c_str(), W_OK) != 0)
    throw UsageError("--server: cannot write the spool in '" + folder + "' (" + std::strerror(errno) +
                     "): give a writable folder with --output-dir");
  upload::UploadOptions options;
  options.experiment = flags.experiment;
  options.final_timeout_s = flags.wait_s;
  return std::make_unique<upload::RunUploader>(std::move(client), spool_dir, location, options);
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

void finish_with_server(upload::RunUploader& uploader, const RunReport& report, bool quiet) {
  // The end on the run's own clock: never before its start, whatever the wall clock did since.
  const upload::UploadOutcome outcome = uploader.finish(report.header.start_unix_s + report.duration_s);
  if (outcome.finished && !outcome.spool_left && outcome.lost == 0) {
    if (!quiet)
      std::fprintf(stderr, "  server  %lld samples sent to %s\n", static_cast<long long>(outcome.samples),
                   uploader.server_url().c_str());
    return;
  }
  if (outcome.lost > 0)
    std::fprintf(stderr,
                 "carbonmeter: %lld of %lld samples could not be sent or kept for the server (%s); the run's "
                 "journal and report still have them\n",
                 static_cast<long long>(outcome.lost), static_cast<long long>(outcome.samples),
                 outcome.last_error.c_str());
  if (!outcome.spool_left) return;
  const std::string command =
      "carbonmeter upload --server " + uploader.server_url() + " '" + uploader.spool_path() + "'";
  if (outcome.refused)
    std::fprintf(stderr,
                 "carbonmeter: the server refused the run (%s): what it did not take is kept in %s; fix the "
                 "cause, then send it with: %s\n",
                 outcome.last_error.c_str(), uploader.spool_path().c_str(), command.c_str());
  else
    std::fprintf(stderr,
                 "carbonmeter: the server did not take everything (%s): what is left is kept in %s; send it "
                 "later with: %s (the key from --api-key or CARBONMETER_API_KEY)\n",
                 outcome.last_error.c_str(), uploader.spool_path().c_str(), command.c_str());
}

}  // namespace carbonmeter::cli
