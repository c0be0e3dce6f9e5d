// carbonmeter serve: the server that collects runs from many machines (docs/api.md): opens the
// storage, applies its migrations, makes sure an admin token exists, and answers the JSON API
// until SIGINT or SIGTERM.
#include <fmt/format.h>
#include <signal.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "cli/commands.hpp"
#include "server/auth.hpp"
#include "server/dashboard.hpp"
#include "server/http_api.hpp"
#include "server/storage.hpp"

namespace carbonmeter::cli {
namespace {

struct ServeOptions {
  std::string db = "sqlite:carbonmeter.db";
  std::string listen = "127.0.0.1:8080";
  bool public_read = false;
  std::string admin_token_file;
  double rate_limit_per_s = 50.0;
  double rate_burst = 200.0;
};

struct ListenAddress {
  std::string host;
  int port = 0;
};

ListenAddress parse_listen(const std::string& text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    throw UsageError("--listen '" + text +
                     "' must be HOST:PORT, e.g. 127.0.0.1:8080 (PORT 0: any free port)");
  }
  ListenAddress address;
  address.host = text.substr(0, colon);
  if (address.host.size() > 2 && address.host.front() == '[' && address.host.back() == ']') {
    address.host = address.host.substr(1, address.host.size() - 2);  // [::1]:8080
  }
  const std::string port = text.substr(colon + 1);
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(port.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || value < 0 || value > 65535) {
    throw UsageError("--listen '" + text + "': the port must be a number from 0 to 65535");
  }
  address.port = static_cast<int>(value);
  return address;
}

// Hides the password of a postgresql:// URL when printing it.
std::string printable_db(const std::string& url) {
  const std::size_t scheme = url.find("://");
  const std::size_t at = url.find('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) return url;
  const std::size_t colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

int serve(const ServeOptions& options) {
  const ListenAddress address = parse_listen(options.listen);
  constexpr double kOneADay_per_s = 1.0 / 86400;
  if (!std::isfinite(options.rate_limit_per_s) || options.rate_limit_per_s < 0 ||
      (options.rate_limit_per_s > 0 && options.rate_limit_per_s < kOneADay_per_s)) {
    throw UsageError(
        "--rate-limit must be a number of requests per second: 0 (no limit), or at least 1/86400 (one a "
        "day)");
  }
  if (!std::isfinite(options.rate_burst) || options.rate_burst < 1) {
    throw UsageError("--rate-burst must be a number of requests >= 1");
  }

  // The admin token: a file, the environment, or one generated on the first start.
  std::optional<std::string> admin_token;
  if (!options.admin_token_file.empty()) {
    auto read = server::read_admin_token_file(options.admin_token_file);
    if (!read) throw FatalError("serve: " + read.error().message);
    admin_token = read.value();
  } else if (const char* env = std::getenv("CARBONMETER_ADMIN_TOKEN"); env && *env) {
    if (auto checked = server::check_admin_token(env, "CARBONMETER_ADMIN_TOKEN"); !checked) {
      throw FatalError("serve: " + checked.error().message);
    }
    admin_token = env;
  }

  auto opened = server::open_storage(options.db);
  if (!opened) throw FatalError("serve: " + opened.error().message);
  std::unique_ptr<server::Storage> storage = std::move(opened).value();
  if (auto migrated = storage->migrate(); !migrated) throw FatalError("serve: " + migrated.error().message);

  if (!admin_token) {
    auto generated = server::ensure_generated_admin_token(*storage);
    if (!generated) throw FatalError("serve: " + generated.error().message);
    if (generated.value()) {
      std::printf(
          "carbonmeter serve: generated the admin token (shown only this once; only its hash is stored):\n"
          "  %s\n"
          "Store it now (e.g. in a file for --admin-token-file). Lost it? Start with --admin-token-file or "
          "CARBONMETER_ADMIN_TOKEN.\n",
          generated.value()->c_str());
    }
  }

  server::ApiOptions api_options;
  api_options.public_read = options.public_read;
  if (admin_token) api_options.admin_token_sha256_hex = server::sha256_hex(*admin_token);
  api_options.rate_limit.requests_per_s = options.rate_limit_per_s;
  api_options.rate_limit.burst = options.rate_burst;
  server::HttpApi api(*storage, api_options);

  httplib::Server http;
  // cpp-httplib writes a response's headers and body in separate writes: with Nagle's algorithm
  // on, the body waits for the client's delayed ACK of the headers (40 ms on Linux), which held
  // a connection to about 35 requests/s (bench/ingest_bench.sh, bench/RESULTS.md).
  http.set_tcp_nodelay(true);
  api.register_routes(http);
  server::add_extra_routes(http, api, server::register_dashboard_routes);

  // Stop signals are blocked in every thread (the server's threads inherit the mask); the main
  // thread waits for them and then stops the server.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  int port = address.port;
  if (port == 0) {
    port = http.bind_to_any_port(address.host);
    if (port < 0) port = 0;
  } else if (!http.bind_to_port(address.host, port)) {
    port = 0;
  }
  if (port == 0) {
    throw FatalError(fmt::format(
        "serve: cannot listen on {}: the address is in use or not on this machine (pick another --listen, "
        "e.g. 127.0.0.1:0 for any free port)",
        options.listen));
  }
  const std::string host =
      address.host.find(':') != std::string::npos ? "[" + address.host + "]" : address.host;
  std::printf("carbonmeter serve: listening on http://%s:%d (API: /api/v1, storage: %s, schema version %d)\n",
              host.c_str(), port, printable_db(options.db).c_str(), storage->schema_version());
  std::fflush(stdout);

  std::thread listener([&http] { http.listen_after_bind(); });
  int signal_number = 0;
  while (true) {
    signal_number = sigwaitinfo(&stop_signals, nullptr);
    if (signal_number > 0 || errno != EINTR) break;
  }
  http.stop();
  listener.join();
  std::printf("carbonmeter serve: stopped (%s)\n", signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
  std::fflush(stdout);
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "serve",
      "Collect runs from many machines: a JSON HTTP API with SQLite or PostgreSQL storage (docs/api.md)");
  cmd->add_option("--db", options->db,
                  "Storage: sqlite:PATH (default sqlite:carbonmeter.db in the current folder) or "
                  "postgresql://USER:PASSWORD@HOST/DB")
      ->capture_default_str();
  cmd->add_option("--listen", options->listen, "HOST:PORT to listen on (PORT 0: any free port)")
      ->capture_default_str();
  cmd->add_flag("--public-read", options->public_read, "Allow reads (GET) without a token");
  cmd->add_option("--admin-token-file", options->admin_token_file,
                  "File whose first line is the admin token (else CARBONMETER_ADMIN_TOKEN, else one is "
                  "generated on the first start and printed once)");
  cmd->add_option("--rate-limit", options->rate_limit_per_s, "Requests per second per token (0: no limit)")
      ->capture_default_str();
  cmd->add_option("--rate-burst", options->rate_burst, "Requests a token may send at once")
      ->capture_default_str();
  cmd->callback([options, &exit_code] { exit_code = serve(*options); });
}

}  // namespace carbonmeter::cli
