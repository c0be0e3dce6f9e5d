// The /api/v1 routes. Each handler: identify the caller (401/429), check the body (413/415/400),
// check permissions (403/404), then call the storage (503 when it fails).
#include "server/http_api.hpp"

#include <fmt/format.h>

#include <cmath>
#include <ctime>
#include <exception>
#include <map>

#include "server/api_serialized_storage.hpp"

namespace carbonmeter::server {
namespace {

using httplib::Request;
using httplib::Response;
using nlohmann::json;

constexpr const char* kPrefix = "/api/v1";

double now_unix_s() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

json optional_json(const std::optional<std::string>& value) { return value ? json(*value) : json(nullptr); }
json optional_json(const std::optional<int>& value) { return value ? json(*value) : json(nullptr); }
json optional_json(const std::optional<double>& value) { return value ? json(*value) : json(nullptr); }

json energy_json(double cpu_j, double ram_j, double gpu_j) {
  return json{{"cpu", cpu_j}, {"ram", ram_j}, {"gpu", gpu_j}, {"total", cpu_j + ram_j + gpu_j}};
}

json sample_to_json(const SampleRecord& sample) {
  return json{{"seq", sample.seq},
              {"t_unix_s", sample.t_unix_s},
              {"dt_s", sample.dt_s},
              {"energy_j", energy_json(sample.energy_cpu_j, sample.energy_ram_j, sample.energy_gpu_j)},
              {"emissions_g", sample.emissions_g},
              {"intensity_g_per_kwh", optional_json(sample.intensity_g_per_kwh)}};
}

json totals_to_json(const Totals& totals) {
  return json{{"key", totals.key},
              {"energy_j", energy_json(totals.energy_cpu_j, totals.energy_ram_j, totals.energy_gpu_j)},
              {"emissions_g", totals.emissions_g},
              {"run_count", totals.run_count},
              {"sample_count", totals.sample_count}};
}

bool is_json_content_type(const Request& request) {
  std::string type = request.get_header_value("Content-Type");
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string_view kJson = "application/json";
  return type.compare(0, kJson.size(), kJson) == 0 &&
         (type.size() == kJson.size() || type[kJson.size()] == ';' || type[kJson.size()] == ' ');
}

void send_storage_error(Response& response, const Error& error) {
  response.set_header("Retry-After", "5");
  HttpApi::send_error(response, 503, "storage_unavailable",
                      "the storage failed: " + error.message + " (retry later; clients keep unsent samples)");
}

std::optional<GroupBy> parse_group_by(const std::string& text) {
  if (text == "experiment") return GroupBy::experiment;
  if (text == "job") return GroupBy::job;
  if (text == "run") return GroupBy::run;
  if (text == "day") return GroupBy::day;
  return std::nullopt;
}

std::string default_message(int status, const Request& request) {
  switch (status) {
    case 400:
      return "the request is malformed";
    case 404:
      return "no route " + request.method + " " + request.path +
             " (the API is under /api/v1: see docs/api.md)";
    case 405:
      return "method " + request.method + " is not allowed on " + request.path;
    case 413:
      return "the request body is too large; send fewer samples per request";
    case 414:
      return "the request URI is too long";
    default:
      return fmt::format("HTTP status {}", status);
  }
}

std::string default_code(int status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 413:
      return "payload_too_large";
    case 414:
      return "uri_too_long";
    case 415:
      return "unsupported_media_type";
    case 429:
      return "rate_limited";
    case 503:
      return "unavailable";
    default:
      return status >= 500 ? "internal" : "error";
  }
}

}  // namespace

json project_to_json(const Project& project) {
  return json{{"id", project.id}, {"name", project.name}, {"created_unix_s", project.created_unix_s}};
}

json run_to_json(const RunRecord& run, const std::string& project_name) {
  json metadata = json::parse(run.metadata_json.empty() ? "{}" : run.metadata_json, nullptr, false);
  if (metadata.is_discarded()) metadata = json::object();
  return json{{"run_id", run.run_id},
              {"project", project_name},
              {"experiment", run.experiment.empty() ? json(nullptr) : json(run.experiment)},
              {"scope", run.scope},
              {"job",
               {{"id", optional_json(run.job.job_id)},
                {"node", run.job.node},
                {"rank", optional_json(run.job.rank)},
                {"local_rank", optional_json(run.job.local_rank)},
                {"world_size", optional_json(run.job.world_size)}}},
              {"started_unix_s", run.started_unix_s},
              {"ended_unix_s", optional_json(run.ended_unix_s)},
              {"metadata", metadata},
              {"energy_j", energy_json(run.energy_cpu_j, run.energy_ram_j, run.energy_gpu_j)},
              {"emissions_g", run.emissions_g},
              {"sample_count", run.sample_count}};
}

HttpApi::HttpApi(Storage& storage, ApiOptions options)
    : storage_(make_serialized_storage(storage)),
      options_(std::move(options)),
      rate_limiter_(options_.rate_limit) {}

HttpApi::~HttpApi() = default;

void HttpApi::send_json(Response& response, int status, const json& body) {
  response.status = status;
  response.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void HttpApi::send_error(Response& response, int status, const std::string& code,
                         const std::string& message) {
  send_json(response, status, json{{"error", {{"code", code}, {"message", message}}}});
}

std::optional<Caller> HttpApi::identify(const Request& request, Response& response) {
  const std::string header = request.get_header_value("Authorization");
  const std::string token = bearer_token(header);
  const std::string rate_key = token.empty() ? "addr:" + request.remote_addr : "token:" + sha256_hex(token);
  const RateLimiter::Decision decision = rate_limiter_.take(rate_key, RateLimiter::monotonic_now_s());
  if (!decision.allowed) {
    // At most a day: a tiny --rate-limit gives waits no integer holds.
    const long retry_after_s = static_cast<long>(std::clamp(std::ceil(decision.retry_after_s), 1.0, 86400.0));
    response.set_header("Retry-After", std::to_string(retry_after_s));
    send_error(
        response, 429, "rate_limited",
        fmt::format("too many requests: at most {} per second (bursts of {}) per token; retry after {} s",
                    options_.rate_limit.requests_per_s, options_.rate_limit.burst, retry_after_s));
    return std::nullopt;
  }
  if (token.empty()) {
    if (!header.empty()) {
      send_error(response, 401, "unauthorized",
                 "the Authorization header must be `Bearer TOKEN` (a cm_... token from your admin)");
      response.set_header("WWW-Authenticate", "Bearer");
      return std::nullopt;
    }
    return Caller{};  // anonymous: each route decides
  }
  auto found = authenticate_token(*storage_, token, options_.admin_token_sha256_hex);
  if (!found) {
    send_storage_error(response, found.error());
    return std::nullopt;
  }
  if (!found.value()) {
    response.set_header("WWW-Authenticate", "Bearer error=\"invalid_token\"");
    send_error(response, 401, "invalid_token",
               "the token is not valid: check it, or ask an admin for a new one (POST "
               "/api/v1/projects/NAME/tokens)");
    return std::nullopt;
  }
  return *found.value();
}

namespace {

void send_token_required(Response& response) {
  response.set_header("WWW-Authenticate", "Bearer");
  HttpApi::send_error(response, 401, "unauthorized",
                      "this route needs a token: send `Authorization: Bearer cm_...` (a project token from "
                      "your admin, or the admin token)");
}

}  // namespace

std::optional<Caller> HttpApi::authorize_read(const Request& request, Response& response,
                                              std::optional<std::int64_t> project_id) {
  std::optional<Caller> caller = identify(request, response);
  if (!caller || !check_read(*caller, response, project_id)) return std::nullopt;
  return caller;
}

bool HttpApi::check_read(const Caller& caller, Response& response, std::optional<std::int64_t> project_id) {
  if (!caller.authenticated) {
    if (options_.public_read) return true;
    send_token_required(response);
    return false;
  }
  if (caller.admin || !project_id || caller.project_id == project_id) return true;
  send_error(response, 403, "forbidden", "this token belongs to another project: use that project's token");
  return false;
}

// The handlers, with access to HttpApi's members.
struct HttpApi::Routes {
  HttpApi& api;

  Storage& storage() { return *api.storage_; }

  std::optional<Caller> require_admin(const Request& request, Response& response) {
    std::optional<Caller> caller = api.identify(request, response);
    if (!caller) return std::nullopt;
    if (!caller->authenticated) {
      send_token_required(response);
      return std::nullopt;
    }
    if (!caller->admin) {
      send_error(response, 403, "forbidden", "this route needs the admin token, not a project token");
      return std::nullopt;
    }
    return caller;
  }

  // Any valid token (writes): 401 for none.
  std::optional<Caller> require_token(const Request& request, Response& response) {
    std::optional<Caller> caller = api.identify(request, response);
    if (!caller) return std::nullopt;
    if (!caller->authenticated) {
      send_token_required(response);
      return std::nullopt;
    }
    return caller;
  }

  // Writes to a project's runs need a token of that project.
  static bool check_writer(const Caller& caller, Response& response, std::int64_t project_id) {
    if (!caller.project_id) {
      send_error(response, 403, "forbidden",
                 "runs are sent with a project token, not the admin token: create one with "
                 "POST /api/v1/projects/NAME/tokens");
      return false;
    }
    if (*caller.project_id != project_id) {
      send_error(response, 403, "forbidden",
                 "this token belongs to another project: use that project's token");
      return false;
    }
    return true;
  }

  std::optional<json> json_body(const Request& request, Response& response) {
    if (!is_json_content_type(request)) {
      send_error(response, 415, "unsupported_media_type",
                 "send the body as JSON with the header `Content-Type: application/json`");
      return std::nullopt;
    }
    if (request.body.size() > api.options_.limits.max_body_bytes) {
      send_error(response, 413, "payload_too_large",
                 fmt::format("the body is larger than {} bytes; send fewer samples per request",
                             api.options_.limits.max_body_bytes));
      return std::nullopt;
    }
    auto parsed = parse_json_object(request.body);
    if (!parsed) {
      send_error(response, 400, "invalid_json", parsed.error().message);
      return std::nullopt;
    }
    return std::move(parsed).value();
  }

  // Looks a project up; writes 404/503 when there is none.
  std::optional<Project> project_named(const std::string& name, Response& response) {
    auto found = storage().find_project(name);
    if (!found) {
      send_storage_error(response, found.error());
      return std::nullopt;
    }
    if (!found.value()) {
      send_error(response, 404, "not_found",
                 "no project '" + name + "': an admin creates it with POST /api/v1/projects");
      return std::nullopt;
    }
    return *found.value();
  }

  std::optional<RunRecord> run_named(const std::string& run_id, Response& response) {
    if (auto checked = check_run_id(run_id); !checked) {
      send_error(response, 400, "invalid_field", checked.error().message);
      return std::nullopt;
    }
    auto found = storage().find_run(run_id);
    if (!found) {
      send_storage_error(response, found.error());
      return std::nullopt;
    }
    if (!found.value()) {
      send_error(response, 404, "not_found",
                 "no run '" + run_id + "': register it first with POST /api/v1/runs");
      return std::nullopt;
    }
    return *found.value();
  }

  std::optional<std::map<std::int64_t, std::string>> project_names(Response& response) {
    auto projects = storage().list_projects();
    if (!projects) {
      send_storage_error(response, projects.error());
      return std::nullopt;
    }
    std::map<std::int64_t, std::string> names;
    for (const Project& project : projects.value()) names[project.id] = project.name;
    return names;
  }

  std::optional<std::string> project_name_of(std::int64_t project_id, Response& response) {
    auto names = project_names(response);
    if (!names) return std::nullopt;
    auto it = names->find(project_id);
    return it == names->end() ? std::string() : it->second;
  }

  // ---- routes ----

  void health(const Request&, Response& response) {
    auto probe = storage().list_projects();
    if (!probe) {
      response.set_header("Retry-After", "5");
      send_json(response, 503,
                json{{"status", "unavailable"},
                     {"error",
                      {{"code", "storage_unavailable"},
                       {"message", "the storage failed: " + probe.error().message}}}});
      return;
    }
    send_json(response, 200, json{{"status", "ok"}, {"schema_version", storage().schema_version()}});
  }

  void create_project(const Request& request, Response& response) {
    if (!require_admin(request, response)) return;
    auto body = json_body(request, response);
    if (!body) return;
    auto name = parse_project_request(*body);
    if (!name) return send_error(response, 400, "invalid_field", name.error().message);
    auto existing = storage().find_project(name.value());
    if (!existing) return send_storage_error(response, existing.error());
    if (existing.value()) {
      return send_error(response, 409, "conflict", "project '" + name.value() + "' exists already");
    }
    auto created = storage().create_project(name.value());
    if (!created) return send_storage_error(response, created.error());
    send_json(response, 201, project_to_json(created.value()));
  }

  void list_projects(const Request& request, Response& response) {
    auto caller = api.authorize_read(request, response, std::nullopt);
    if (!caller) return;
    auto projects = storage().list_projects();
    if (!projects) return send_storage_error(response, projects.error());
    json list = json::array();
    for (const Project& project : projects.value()) {
      if (caller->project_id && *caller->project_id != project.id) continue;
      list.push_back(project_to_json(project));
    }
    send_json(response, 200, json{{"projects", list}});
  }

  void get_project(const Request& request, Response& response) {
    auto caller = api.identify(request, response);
    if (!caller || !api.check_read(*caller, response, std::nullopt)) return;
    auto project = project_named(request.matches[1], response);
    if (!project || !api.check_read(*caller, response, project->id)) return;
    send_json(response, 200, project_to_json(*project));
  }

  void create_token(const Request& request, Response& response) {
    if (!require_admin(request, response)) return;
    auto body = json_body(request, response);
    if (!body) return;
    auto label = parse_token_request(*body);
    if (!label) return send_error(response, 400, "invalid_field", label.error().message);
    auto project = project_named(request.matches[1], response);
    if (!project) return;
    auto token = generate_token();
    if (!token) return send_error(response, 500, "internal", token.error().message);
    TokenRecord record;
    record.project_id = project->id;
    record.sha256_hex = sha256_hex(token.value());
    record.label = label.value();
    record.created_unix_s = now_unix_s();
    auto added = storage().add_token(record);
    if (!added) return send_storage_error(response, added.error());
    send_json(response, 201,
              json{{"token", token.value()},
                   {"id", added.value().id},
                   {"project", project->name},
                   {"label", record.label},
                   {"note", "the token is shown only this once: store it now"}});
  }

  void list_experiments(const Request& request, Response& response) {
    auto caller = api.identify(request, response);
    if (!caller || !api.check_read(*caller, response, std::nullopt)) return;
    auto project = project_named(request.matches[1], response);
    if (!project || !api.check_read(*caller, response, project->id)) return;
    auto experiments = storage().list_experiments(project->id);
    if (!experiments) return send_storage_error(response, experiments.error());
    send_json(response, 200, json{{"project", project->name}, {"experiments", experiments.value()}});
  }

  void totals(const Request& request, Response& response) {
    auto caller = api.identify(request, response);
    if (!caller || !api.check_read(*caller, response, std::nullopt)) return;
    const std::string by = request.has_param("by") ? request.get_param_value("by") : "experiment";
    const std::optional<GroupBy> group_by = parse_group_by(by);
    if (!group_by) {
      return send_error(
          response, 400, "invalid_field",
          "query parameter 'by' must be experiment, job, run or day (got '" + by.substr(0, 40) + "')");
    }
    auto project = project_named(request.matches[1], response);
    if (!project || !api.check_read(*caller, response, project->id)) return;
    auto totals = storage().totals(project->id, *group_by);
    if (!totals) return send_storage_error(response, totals.error());
    json list = json::array();
    for (const Totals& group : totals.value()) list.push_back(totals_to_json(group));
    send_json(response, 200, json{{"project", project->name}, {"by", by}, {"totals", list}});
  }

  void register_run(const Request& request, Response& response) {
    auto caller = require_token(request, response);
    if (!caller) return;
    auto body = json_body(request, response);
    if (!body) return;
    auto registration = parse_run_registration(*body);
    if (!registration) return send_error(response, 400, "invalid_field", registration.error().message);
    RunRecord& run = registration.value().run;
    auto project = project_named(registration.value().project, response);
    if (!project || !check_writer(*caller, response, project->id)) return;
    run.project_id = project->id;

    auto registered = storage().register_run(run);
    if (!registered) {
      // The storage refuses a run_id of another project or of another run (a retry sends the
      // same run again) and a run that breaks the multi-node rule; any other failure is the
      // storage being unavailable. A storage that still answers tells them apart.
      auto probe = storage().list_projects();
      if (!probe) return send_storage_error(response, registered.error());
      return send_error(response, 409, "conflict", registered.error().message);
    }
    send_json(response, registered.value().created ? 201 : 200,
              run_to_json(registered.value().run, project->name));
  }

  void list_runs(const Request& request, Response& response) {
    auto caller = api.identify(request, response);
    if (!caller || !api.check_read(*caller, response, std::nullopt)) return;
    RunFilter filter;
    const ApiLimits& limits = api.options_.limits;
    if (request.has_param("limit")) {
      auto limit = parse_query_integer(request.get_param_value("limit"), "limit", 1, limits.max_page_limit);
      if (!limit) return send_error(response, 400, "invalid_field", limit.error().message);
      filter.limit = limit.value();
    }
    if (request.has_param("offset")) {
      auto offset = parse_query_integer(request.get_param_value("offset"), "offset", 0,
                                        std::numeric_limits<std::int64_t>::max() / 2);
      if (!offset) return send_error(response, 400, "invalid_field", offset.error().message);
      filter.offset = offset.value();
    }
    if (request.has_param("experiment")) filter.experiment = request.get_param_value("experiment");
    if (request.has_param("job")) filter.job_id = request.get_param_value("job");
    if (request.has_param("project")) {
      auto project = project_named(request.get_param_value("project"), response);
      if (!project || !api.check_read(*caller, response, project->id)) return;
      filter.project_id = project->id;
    } else if (caller->project_id) {
      filter.project_id = caller->project_id;  // a project token lists its own project's runs
    }
    auto runs = storage().list_runs(filter);
    if (!runs) return send_storage_error(response, runs.error());
    auto names = project_names(response);
    if (!names) return;
    json list = json::array();
    for (const RunRecord& run : runs.value()) list.push_back(run_to_json(run, (*names)[run.project_id]));
    send_json(response, 200, json{{"runs", list}, {"limit", filter.limit}, {"offset", filter.offset}});
  }

  void get_run(const Request& request, Response& response) {
    auto caller = api.identify(request, response);
    if (!caller || !api.check_read(*caller, response, std::nullopt)) return;
    auto run = run_named(request.matches[1], response);
    if (!run || !api.check_read(*caller, response, run->project_id)) return;
    auto name = project_name_of(run->project_id, response);
    if (!name) return;
    send_json(response, 200, run_to_json(*run, *name));
  }

  void post_samples(const Request& request, Response& response) {
    auto caller = require_token(request, response);
    if (!caller) return;
    auto body = json_body(request, response);
    if (!body) return;
    auto samples = parse_sample_batch(*body, api.options_.limits);
    if (!samples) return send_error(response, 400, "invalid_field", samples.error().message);
    auto run = run_named(request.matches[1], response);
    if (!run || !check_writer(*caller, response, run->project_id)) return;
    auto outcome = storage().insert_samples(run->run_id, samples.value());
    if (!outcome) return send_storage_error(response, outcome.error());
    send_json(response, 200,
              json{{"run_id", run->run_id},
                   {"inserted", outcome.value().inserted},
                   {"duplicates", outcome.value().duplicates}});
  }

  void get_samples(const Request& request, Response& response) {
    auto caller = api.identify(request, response);
    if (!caller || !api.check_read(*caller, response, std::nullopt)) return;
    std::int64_t after_seq = -1;
    std::int64_t limit = api.options_.limits.max_page_limit;
    if (request.has_param("after_seq")) {
      auto parsed = parse_query_integer(request.get_param_value("after_seq"), "after_seq", -1,
                                        std::numeric_limits<std::int64_t>::max());
      if (!parsed) return send_error(response, 400, "invalid_field", parsed.error().message);
      after_seq = parsed.value();
    }
    if (request.has_param("limit")) {
      auto parsed = parse_query_integer(request.get_param_value("limit"), "limit", 1,
                                        api.options_.limits.max_page_limit);
      if (!parsed) return send_error(response, 400, "invalid_field", parsed.error().message);
      limit = parsed.value();
    }
    auto run = run_named(request.matches[1], response);
    if (!run || !api.check_read(*caller, response, run->project_id)) return;
    auto samples = storage().samples(run->run_id, after_seq, limit);
    if (!samples) return send_storage_error(response, samples.error());
    json list = json::array();
    for (const SampleRecord& sample : samples.value()) list.push_back(sample_to_json(sample));
    const json next = static_cast<std::int64_t>(samples.value().size()) == limit && !samples.value().empty()
                          ? json(samples.value().back().seq)
                          : json(nullptr);
    send_json(response, 200, json{{"run_id", run->run_id}, {"samples", list}, {"next_after_seq", next}});
  }

  void finish_run(const Request& request, Response& response) {
    auto caller = require_token(request, response);
    if (!caller) return;
    auto body = json_body(request, response);
    if (!body) return;
    auto ended = parse_finish_request(*body);
    if (!ended) return send_error(response, 400, "invalid_field", ended.error().message);
    auto run = run_named(request.matches[1], response);
    if (!run || !check_writer(*caller, response, run->project_id)) return;
    if (ended.value() < run->started_unix_s) {
      return send_error(response, 400, "invalid_field",
                        fmt::format("field 'ended_unix_s' ({}) is before the run's started_unix_s ({})",
                                    ended.value(), run->started_unix_s));
    }
    if (auto finished = storage().finish_run(run->run_id, ended.value()); !finished) {
      return send_storage_error(response, finished.error());
    }
    auto stored = run_named(run->run_id, response);
    if (!stored) return;
    auto name = project_name_of(stored->project_id, response);
    if (!name) return;
    send_json(response, 200, run_to_json(*stored, *name));
  }
};

void HttpApi::register_routes(httplib::Server& server) {
  auto routes = std::make_shared<Routes>(Routes{*this});
  auto bind = [routes](void (Routes::*handler)(const Request&, Response&)) {
    return [routes, handler](const Request& request, Response& response) {
      ((*routes).*handler)(request, response);
    };
  };
  const std::string prefix = kPrefix;
  const std::string name = "/([^/]+)";
  server.set_payload_max_length(options_.limits.max_body_bytes);
  server.Get(prefix + "/health", bind(&Routes::health));
  server.Post(prefix + "/projects", bind(&Routes::create_project));
  server.Get(prefix + "/projects", bind(&Routes::list_projects));
  server.Get(prefix + "/projects" + name, bind(&Routes::get_project));
  server.Post(prefix + "/projects" + name + "/tokens", bind(&Routes::create_token));
  server.Get(prefix + "/projects" + name + "/experiments", bind(&Routes::list_experiments));
  server.Get(prefix + "/projects" + name + "/totals", bind(&Routes::totals));
  server.Post(prefix + "/runs", bind(&Routes::register_run));
  server.Get(prefix + "/runs", bind(&Routes::list_runs));
  server.Get(prefix + "/runs" + name, bind(&Routes::get_run));
  server.Post(prefix + "/runs" + name + "/samples", bind(&Routes::post_samples));
  server.Get(prefix + "/runs" + name + "/samples", bind(&Routes::get_samples));
  server.Post(prefix + "/runs" + name + "/finish", bind(&Routes::finish_run));

  // Errors that httplib produces itself (no route, body too large) get the JSON error shape too.
  server.set_error_handler(
      httplib::Server::HandlerWithResponse([](const Request& request, Response& response) {
        if (!response.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        send_error(response, response.status, default_code(response.status),
                   default_message(response.status, request));
        return httplib::Server::HandlerResponse::Handled;
      }));
  server.set_exception_handler([](const Request&, Response& response, std::exception_ptr error) {
    std::string what = "unknown exception";
    try {
      if (error) std::rethrow_exception(error);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_error(response, 500, "internal", "internal error: " + what + " (please report it)");
  });
}

}  // namespace carbonmeter::server
