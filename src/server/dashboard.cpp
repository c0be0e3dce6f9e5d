// The dashboard's routes: who is asking (HttpApi::identify with the token from the header, the
// cookie or ?token=), may they read it (HttpApi::check_read), then the page from
// dashboard_pages.hpp. The API writes its refusals as JSON; they are turned into HTML pages here.
#include "server/dashboard.hpp"

#include <fmt/format.h>

#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "server/api_validation.hpp"
#include "server/dashboard_auth.hpp"
#include "server/dashboard_html.hpp"
#include "server/dashboard_pages.hpp"

namespace carbonmeter::server {
namespace {

using httplib::Request;
using httplib::Response;
using namespace dashboard;

void send_html(Response& response, int status, const std::string& html) {
  response.status = status;
  // Defence in depth behind the escaping: no script runs, nothing loads from elsewhere, and a
  // ?token= URL is never sent on as a Referer.
  response.set_header("Content-Security-Policy",
                      "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
                      "frame-ancestors 'none'; base-uri 'none'");
  response.set_header("X-Content-Type-Options", "nosniff");
  response.set_header("Referrer-Policy", "no-referrer");
  response.set_header("Cache-Control", "no-store");
  response.headers.erase("Content-Type");  // the API's JSON refusal set one
  response.set_content(html, "text/html; charset=utf-8");
}

void send_error_page(Response& response, int status, const std::string& message) {
  const char* title = status == 400   ? "Bad request"
                      : status == 403 ? "Forbidden"
                      : status == 404 ? "Not found"
                      : status == 429 ? "Too many requests"
                      : status == 503 ? "Storage unavailable"
                                      : "Error";
  send_html(response, status, message_page(title, message));
}

void send_storage_error(Response& response, const Error& error) {
  response.set_header("Retry-After", "5");
  send_error_page(response, 503, "the storage failed: " + error.message + " (retry later)");
}

void redirect(Response& response, const std::string& location) {
  response.status = 303;
  response.set_header("Location", location);
  response.set_header("Cache-Control", "no-store");
}

struct Routes {
  HttpApi& api;

  // The API wrote a refusal as JSON (401, 403, 429, 503): the same status as an HTML page; 401
  // is the login form, and forgets a cookie that no longer works.
  void html_refusal(const Request& request, Response& response) {
    const nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
    std::string message = "the request was refused";
    if (body.is_object() && body.contains("error") && body["error"].is_object() &&
        body["error"].value("message", "").size() > 0) {
      message = body["error"]["message"].get<std::string>();
    }
    if (response.status == 401) {
      if (!cookie_token(request.get_header_value("Cookie")).empty()) {
        end_session(request.get_header_value("Cookie"));
        response.set_header("Set-Cookie", cleared_cookie(reached_over_https(request)));
      }
      send_html(response, 401, login_page(path_without_token(request), message));
      return;
    }
    send_error_page(response, response.status, message);
  }

  // The caller, or nullopt when the response is written: a refusal, or the redirect that
  // follows ?token= (the token goes into the cookie and out of the URL).
  std::optional<Caller> identify(const Request& request, Response& response) {
    if (request.has_param("token") && !request.get_param_value("token").empty()) {
      const std::string token = request.get_param_value("token");
      auto caller = api.identify(bearer_request(request, token), response);
      if (!caller) {
        html_refusal(request, response);
        return std::nullopt;
      }
      response.set_header("Set-Cookie", session_cookie(token, reached_over_https(request)));
      redirect(response, path_without_token(request));
      return std::nullopt;
    }
    auto caller = api.identify(bearer_request(request, request_token(request)), response);
    if (!caller) html_refusal(request, response);
    return caller;
  }

  bool check_read(const Request& request, const Caller& caller, Response& response,
                  std::optional<std::int64_t> project_id) {
    if (api.check_read(caller, response, project_id)) return true;
    html_refusal(request, response);
    return false;
  }

  void index(const Request& request, Response& response) {
    auto caller = identify(request, response);
    if (!caller || !check_read(request, *caller, response, std::nullopt)) return;
    auto projects = api.storage().list_projects();
    if (!projects) return send_storage_error(response, projects.error());
    std::vector<Project> readable;
    for (const Project& project : projects.value())
      if (!caller->project_id || *caller->project_id == project.id) readable.push_back(project);
    auto html = render_index_page(api.storage(), readable);
    if (!html) return send_storage_error(response, html.error());
    send_html(response, 200, html.value());
  }

  void project(const Request& request, Response& response) {
    auto caller = identify(request, response);
    if (!caller || !check_read(request, *caller, response, std::nullopt)) return;
    ProjectPageQuery query;
    if (request.has_param("offset")) {
      auto offset = parse_query_integer(request.get_param_value("offset"), "offset", 0,
                                        std::numeric_limits<std::int64_t>::max() / 2);
      if (!offset) return send_error_page(response, 400, offset.error().message);
      query.offset = offset.value();
    }
    if (request.has_param("experiment")) query.experiment = request.get_param_value("experiment");
    const std::string name = request.matches[1];
    auto found = api.storage().find_project(name);
    if (!found) return send_storage_error(response, found.error());
    if (!found.value()) return send_error_page(response, 404, "no project '" + name + "'");
    if (!check_read(request, *caller, response, found.value()->id)) return;
    auto html = render_project_page(api.storage(), *found.value(), query);
    if (!html) return send_storage_error(response, html.error());
    send_html(response, 200, html.value());
  }

  void run(const Request& request, Response& response) {
    auto caller = identify(request, response);
    if (!caller || !check_read(request, *caller, response, std::nullopt)) return;
    const std::string run_id = request.matches[1];
    if (auto checked = check_run_id(run_id); !checked)
      return send_error_page(response, 404, checked.error().message);
    auto found = api.storage().find_run(run_id);
    if (!found) return send_storage_error(response, found.error());
    if (!found.value()) return send_error_page(response, 404, "no run '" + run_id + "'");
    const RunRecord& run = *found.value();
    if (!check_read(request, *caller, response, run.project_id)) return;
    auto projects = api.storage().list_projects();
    if (!projects) return send_storage_error(response, projects.error());
    std::string project_name;
    for (const Project& project : projects.value())
      if (project.id == run.project_id) project_name = project.name;
    auto html = render_run_page(api.storage(), run, project_name);
    if (!html) return send_storage_error(response, html.error());
    send_html(response, 200, html.value());
  }

  void login_form(const Request& request, Response& response) {
    send_html(response, 200, login_page(safe_next_path(request.get_param_value("next")), ""));
  }

  // The form's token: kept in the cookie when it is valid, then back to where the reader was.
  void login(const Request& request, Response& response) {
    const std::string next = safe_next_path(request.get_param_value("next"));
    const std::string token = request.get_param_value("token");
    if (token.empty()) return send_html(response, 400, login_page(next, "enter a token"));
    auto caller = api.identify(bearer_request(request, token), response);
    if (!caller) {
      if (response.status != 401) return html_refusal(request, response);
      return send_html(response, 401, login_page(next, "this token is not valid: check it, or ask an admin"));
    }
    response.set_header("Set-Cookie", session_cookie(token, reached_over_https(request)));
    redirect(response, next);
  }

  void logout(const Request& request, Response& response) {
    end_session(request.get_header_value("Cookie"));
    response.set_header("Set-Cookie", cleared_cookie(reached_over_https(request)));
    redirect(response, "/dashboard/login");
  }

  void not_found(const Request& request, Response& response) {
    send_error_page(response, 404, "no dashboard page at " + request.path);
  }
};

}  // namespace

void register_dashboard_routes(httplib::Server& server, HttpApi& api) {
  auto routes = std::make_shared<Routes>(Routes{api});
  auto bind = [routes](void (Routes::*handler)(const Request&, Response&)) {
    return [routes, handler](const Request& request, Response& response) {
      ((*routes).*handler)(request, response);
    };
  };
  server.Get("/", bind(&Routes::index));
  server.Get("/dashboard/?", [](const Request&, Response& response) { redirect(response, "/"); });
  server.Get("/dashboard/projects/([^/]+)", bind(&Routes::project));
  server.Get("/dashboard/runs/([^/]+)", bind(&Routes::run));
  server.Get("/dashboard/login", bind(&Routes::login_form));
  server.Post("/dashboard/login", bind(&Routes::login));
  server.Post("/dashboard/logout", bind(&Routes::logout));
  server.Get("/dashboard/.*", bind(&Routes::not_found));
}

}  // namespace carbonmeter::server
