// libcarbonmeter-http.so: the /metrics listener, the JSON poster and GET on cpp-httplib (see
// http_module.hpp for why this is a module of its own).
#include <fcntl.h>
#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "net/http_module.hpp"

namespace carbonmeter::net {
namespace {

// SO_REUSEADDR lets a restarted carbonmeter listen again at once; unlike httplib's default, no
// SO_REUSEPORT, so that a port another program listens on is an error and not a silent share.
// Close-on-exec: the measured command (and resume commands) must not inherit the listener.
void listener_socket_options(socket_t sock) {
  int yes = 1;
  ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  ::fcntl(sock, F_SETFD, ::fcntl(sock, F_GETFD) | FD_CLOEXEC);
}

std::string display(const std::string& host, int port) {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

class HttplibMetricsListener final : public MetricsListener {
 public:
  ~HttplibMetricsListener() override { stop(); }

  Result<bool> start(const std::string& host, int port, const std::string& content_type,
                     std::function<std::string()> render) {
    server_.new_task_queue = [] { return new httplib::ThreadPool(2); };
    server_.set_socket_options(listener_socket_options);
    // One request per connection: no idle keep-alive connection can hold up stop().
    server_.set_keep_alive_max_count(1);
    server_.set_read_timeout(5);
    server_.set_write_timeout(5);
    server_.Get("/metrics", [render = std::move(render), content_type](const httplib::Request&,
                                                                       httplib::Response& response) {
      response.set_content(render(), content_type);
    });
    server_.Get("/", [](const httplib::Request&, httplib::Response& response) {
      response.set_content("carbonmeter: metrics at /metrics\n", "text/plain; charset=utf-8");
    });
    errno = 0;
    if (!server_.bind_to_port(host, port)) {
      const int error = errno;
      std::string why;
      if (error == EADDRINUSE)
        why = "the port is in use (choose another port, or stop what listens there)";
      else if (error == EADDRNOTAVAIL)
        why = host +
              " is not an address of this machine (127.0.0.1: this machine only; 0.0.0.0: every interface)";
      else if (error == EACCES)
        why = "permission denied (ports below 1024 need privileges: choose a port above 1024)";
      else if (error != 0)
        why = std::strerror(error);
      else
        why = "cannot resolve the host " + host;
      return Error{"--prometheus: cannot listen on " + display(host, port) + ": " + why};
    }
    thread_ = std::thread([this] {
      server_.listen_after_bind();
      finished_ = true;
    });
    wait_until_running();
    return true;
  }

  void stop() override {
    if (!thread_.joinable()) return;
    wait_until_running();
    server_.stop();
    thread_.join();
  }

 private:
  void wait_until_running() const {
    // httplib's stop() does nothing to a server whose thread has not started listening yet.
    while (!server_.is_running() && !finished_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  httplib::Server server_;
  std::thread thread_;
  std::atomic<bool> finished_{false};
};

Result<std::unique_ptr<MetricsListener>> listen_metrics(const std::string& host, int port,
                                                        const std::string& content_type,
                                                        std::function<std::string()> render) {
  auto listener = std::make_unique<HttplibMetricsListener>();
  if (auto started = listener->start(host, port, content_type, std::move(render)); !started)
    return started.error();
  return std::unique_ptr<MetricsListener>(std::move(listener));
}

std::string transport_error(httplib::Error error) {
  switch (error) {
    case httplib::Error::Connection:
      return "cannot connect (is it running, and is the address right?)";
    case httplib::Error::ConnectionTimeout:
      return "connecting timed out";
    case httplib::Error::Read:
      return "no reply (it closed the connection or timed out)";
    case httplib::Error::Write:
      return "the request could not be sent";
    case httplib::Error::SSLConnection:
      return "the TLS handshake failed (is it https?)";
    case httplib::Error::SSLLoadingCerts:
      return "cannot load the system's CA certificates";
    case httplib::Error::SSLServerVerification:
      return "its TLS certificate is not trusted";
    default:
      return httplib::to_string(error);
  }
}

void set_timeouts(httplib::Client& client, double timeout_s) {
  const auto whole_s = static_cast<time_t>(timeout_s);
  const auto rest_us = static_cast<time_t>((timeout_s - static_cast<double>(whole_s)) * 1e6);
  client.set_connection_timeout(whole_s, rest_us);
  client.set_read_timeout(whole_s, rest_us);
  client.set_write_timeout(whole_s, rest_us);
}

class HttplibPoster final : public JsonPoster {
 public:
  HttplibPoster(const std::string& scheme_host_port, const std::string& bearer_token, double timeout_s)
      : client_(scheme_host_port) {
    set_timeouts(client_, timeout_s);
    client_.set_keep_alive(true);
    client_.set_bearer_token_auth(bearer_token);
  }

  PostReply post(const std::string& path, const std::string& json_body) override {
    PostReply reply;
    auto result = client_.Post(path, json_body, "application/json");
    if (!result) {
      reply.transport_error = transport_error(result.error());
      return reply;
    }
    reply.status = result->status;
    reply.body = result->body;
    return reply;
  }

 private:
  httplib::Client client_;
};

std::unique_ptr<JsonPoster> make_poster(const std::string& scheme_host_port, const std::string& bearer_token,
                                        double timeout_s) {
  return std::make_unique<HttplibPoster>(scheme_host_port, bearer_token, timeout_s);
}

GetReply get(const std::string& scheme_host_port, const std::string& path_and_query,
             const HttpHeaders& request_headers, double timeout_s) {
  GetReply reply;
  httplib::Client client(scheme_host_port);
  if (!client.is_valid()) {
    reply.transport_error = "cannot talk to " + scheme_host_port + " (only http:// and https:// addresses)";
    return reply;
  }
  set_timeouts(client, timeout_s);
  client.set_follow_location(false);
  httplib::Headers headers;
  for (const auto& [name, value] : request_headers) headers.emplace(name, value);
  auto result = client.Get(path_and_query, headers);
  if (!result) {
    reply.transport_error = transport_error(result.error());
    return reply;
  }
  reply.status = result->status;
  reply.body = result->body;
  for (const auto& [name, value] : result->headers) reply.headers.emplace_back(name, value);
  return reply;
}

#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
constexpr bool kHttpsSupported = true;
#else
constexpr bool kHttpsSupported = false;
#endif

constexpr HttpModule kModule{kHttpModuleInterfaceVersion, &listen_metrics, &make_poster, &get,
                             kHttpsSupported};

}  // namespace
}  // namespace carbonmeter::net

extern "C" __attribute__((visibility("default"))) const carbonmeter::net::HttpModule*
carbonmeter_http_module() {
  return &carbonmeter::net::kModule;
}
