// The dashboard that `carbonmeter serve` shows at / (docs/api.md, "Dashboard"): server-rendered
// HTML pages with inline SVG charts, no script and no external resource, read with the API's
// read rule (HttpApi::authorize_read).
#pragma once

#include "server/http_api.hpp"
#include "server/http_lib.hpp"

namespace carbonmeter::server {

// GET /, GET /dashboard/projects/{name}, GET /dashboard/runs/{run_id}, GET and POST
// /dashboard/login, POST /dashboard/logout, and an HTML 404 for any other /dashboard/ path.
void register_dashboard_routes(httplib::Server& server, HttpApi& api);

}  // namespace carbonmeter::server
