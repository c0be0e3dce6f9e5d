// What run and monitor send to a carbonmeter server (docs/api.md): the run's registration from
// its header, and each sampler interval as an API sample numbered by its place in the run.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "carbon/location.hpp"
#include "core/run_report.hpp"

namespace carbonmeter::upload {

// The body of POST /runs: run_id, project (the run's project name), experiment, scope, job
// (node falls back to the host name), started_unix_s, and the header as metadata.
nlohmann::json run_registration(const RunHeader& header, const std::string& experiment);

// One element of POST /runs/{id}/samples: the interval's energy attributed to the run's scope,
// its emissions as the run report counts them, and the intensity in force (null: not known).
nlohmann::json sample_record(std::int64_t seq, const Sample& sample, double run_start_unix_s,
                             const ResolvedLocation& location);

}  // namespace carbonmeter::upload
