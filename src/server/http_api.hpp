// The JSON HTTP API under /api/v1 (docs/api.md): projects, tokens, runs, samples, totals.
// Extra routes (the dashboard) are registered on the same httplib::Server with
// add_extra_routes() and use the same authentication through authorize_read().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "server/api_validation.hpp"
#include "server/auth.hpp"
#include "server/http_lib.hpp"
#include "server/rate_limit.hpp"
#include "server/storage.hpp"

namespace carbonmeter::server {

struct ApiOptions {
  bool public_read = false;  // reads without a token (writes always need one)
  // SHA-256 (hex) of the admin token from --admin-token-file / CARBONMETER_ADMIN_TOKEN, held in
  // memory only; admin tokens stored in the database are accepted as well.
  std::optional<std::string> admin_token_sha256_hex;
  RateLimit rate_limit;
  ApiLimits limits;
};

class HttpApi {
 public:
  // `storage` must outlive the HttpApi; it is called through make_serialized_storage().
  HttpApi(Storage& storage, ApiOptions options);
  ~HttpApi();

  // The /api/v1 routes, plus the server-wide JSON error and exception handlers and body limit.
  void register_routes(httplib::Server& server);

  // --- for extra routes (the dashboard) ---
  // Identifies the caller from `Authorization: Bearer TOKEN` and applies the rate limit.
  // nullopt: the error response (401, 429, 503) has been written.
  std::optional<Caller> identify(const httplib::Request& request, httplib::Response& response);
  // identify() + read permission: admin tokens read everything, project tokens read their
  // project (`project_id`; nullopt = a listing, which the caller must filter to
  // caller.project_id), no token only with --public-read. nullopt: 401/403/429/503 written.
  std::optional<Caller> authorize_read(const httplib::Request& request, httplib::Response& response,
                                       std::optional<std::int64_t> project_id);
  // The read check alone, for a caller from identify(). false: 401/403 written.
  bool check_read(const Caller& caller, httplib::Response& response, std::optional<std::int64_t> project_id);
  // Thread-safe storage (api_serialized_storage.hpp).
  Storage& storage() { return *storage_; }
  const ApiOptions& options() const { return options_; }

  static void send_json(httplib::Response& response, int status, const nlohmann::json& body);
  // {"error": {"code": CODE, "message": MESSAGE}}
  static void send_error(httplib::Response& response, int status, const std::string& code,
                         const std::string& message);

 private:
  struct Routes;
  std::unique_ptr<Storage> storage_;
  ApiOptions options_;
  RateLimiter rate_limiter_;
};

// Registers more routes on the server (e.g. the dashboard's GET / and /dashboard/...).
using ExtraRoutes = std::function<void(httplib::Server& server, HttpApi& api)>;
inline void add_extra_routes(httplib::Server& server, HttpApi& api, const ExtraRoutes& routes) {
  routes(server, api);
}

// Renders a run / a project as the API does.
nlohmann::json run_to_json(const RunRecord& run, const std::string& project_name);
nlohmann::json project_to_json(const Project& project);

}  // namespace carbonmeter::server
