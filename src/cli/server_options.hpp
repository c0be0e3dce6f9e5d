// --server URL, --api-key KEY and --experiment NAME on run and monitor: send the run to a
// carbonmeter server as it is measured (docs/api.md, "Sending runs").
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "carbon/location.hpp"
#include "core/run_report.hpp"
#include "upload/run_uploader.hpp"

namespace carbonmeter::cli {

struct ServerFlags {
  std::string url;
  std::string api_key;
  std::string experiment;
  double wait_s = upload::UploadOptions{}.final_timeout_s;  // --server-wait
  std::vector<const CLI::Option*> need_server;  // --api-key, --experiment, --server-wait: given alone?
};

void add_server_options(CLI::App& command, ServerFlags& flags);

// The client for --server URL with --api-key (else CARBONMETER_API_KEY): UsageError for a wrong
// address or no key, FatalError when the HTTP module cannot talk to it.
std::unique_ptr<upload::ServerClient> connect_server(const std::string& url, const std::string& api_key_flag);

// nullptr without --server. Checks the flags and the run's --project-name (UsageError) before
// anything runs, and creates the spool's folder (the run's --output-dir) when it is missing.
std::unique_ptr<upload::RunUploader> make_uploader(const ServerFlags& flags, const std::string& project_name,
                                                   const std::string& spool_dir,
                                                   const ResolvedLocation& location);

// Registers the run. A refusal that will not change on retry (wrong key, unknown project, a run
// that breaks the multi-node rule) throws FatalError; a server that does not answer is a warning.
void register_with_server(upload::RunUploader& uploader, const RunHeader& header, bool quiet);

// Sends what is left and the run's end (the report's start plus its duration), and says where the
// samples went. Never fatal: what the server did not take stays in the spool, and the message says
// how to send it.
void finish_with_server(upload::RunUploader& uploader, const RunReport& report, bool quiet);

}  // namespace carbonmeter::cli
