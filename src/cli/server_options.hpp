// --server URL, --api-key KEY and --experiment NAME on run and monitor: send the run to a
// carbonmeter server as it is measured (docs/api.md, "Sending runs").
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "carbon/location.hpp"
#include "core/run_report.hpp"
#include "upload/run_uploader.hpp"

namespace carbonmeter::cli {

struct ServerFlags {
  std::string url;
  std::string api_key;
  std::string experiment;
  double wait_s = 15.0;  // at the end, how long to keep trying before leaving the rest spooled
};

void add_server_options(CLI::App& command, ServerFlags& flags);

// nullptr without --server. Checks the flags (UsageError) before anything runs.
std::unique_ptr<upload::RunUploader> make_uploader(const ServerFlags& flags, const std::string& spool_dir,
                                                   const ResolvedLocation& location);

// Registers the run. A refusal that will not change on retry (wrong key, unknown project, a run
// that breaks the multi-node rule) throws FatalError; a server that does not answer is a warning.
void register_with_server(upload::RunUploader& uploader, const RunHeader& header, bool quiet);

// Sends what is left and the run's end, and says where the samples went. Never fatal: what the
// server did not take stays in the spool, and the message says how to send it.
void finish_with_server(upload::RunUploader& uploader, double ended_unix_s, bool quiet);

}  // namespace carbonmeter::cli
