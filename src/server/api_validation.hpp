// Checks what API clients send before it reaches the storage. Every error message names the
// field (e.g. `samples[3].energy_j.cpu`) and says what is accepted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "carbonmeter/result.hpp"
#include "server/storage.hpp"

namespace carbonmeter::server {

struct ApiLimits {
  std::size_t max_body_bytes = 4 * 1024 * 1024;  // larger bodies: 413
  std::size_t max_batch_samples = 1000;          // per POST /runs/{run_id}/samples
  std::int64_t max_page_limit = 1000;            // `limit` of GET /runs and GET .../samples
};

// The body as a JSON object ("invalid JSON" / "not an object" errors otherwise).
Result<nlohmann::json> parse_json_object(const std::string& body);

// run_id: 1 to 64 characters from [A-Za-z0-9._-].
Status check_run_id(const std::string& value, const std::string& field = "run_id");

// POST /projects: {"name": ...}
Result<std::string> parse_project_request(const nlohmann::json& body);
// POST /projects/{name}/tokens: {"label": ...} (optional, up to 128 characters)
Result<std::string> parse_token_request(const nlohmann::json& body);

struct RunRegistration {
  std::string project;  // project name
  RunRecord run;        // project_id is left 0: the caller resolves `project`
};
// POST /runs
Result<RunRegistration> parse_run_registration(const nlohmann::json& body);

// POST /runs/{run_id}/samples: {"samples": [...]} with at most limits.max_batch_samples.
Result<std::vector<SampleRecord>> parse_sample_batch(const nlohmann::json& body, const ApiLimits& limits);

// POST /runs/{run_id}/finish: {"ended_unix_s": ...}
Result<double> parse_finish_request(const nlohmann::json& body);

// A query-string integer in [min, max].
Result<std::int64_t> parse_query_integer(const std::string& text, const std::string& field, std::int64_t min,
                                         std::int64_t max);

}  // namespace carbonmeter::server
