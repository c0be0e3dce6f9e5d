#include "metrics/metrics_server.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace carbonmeter::metrics {
namespace {

std::string series_key(const DeviceMetrics& device) {
  return fmt::format("{}\x1f{}\x1f{}", component_name(device.component), device.device, device.domain);
}

// SO_REUSEADDR lets a restarted carbonmeter listen again at once; unlike httplib's default, no
// SO_REUSEPORT, so that a port another program listens on is an error and not a silent share.
// Close-on-exec: the measured command (and resume commands) must not inherit the listener.
void listener_socket_options(socket_t sock) {
  int yes = 1;
  ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  ::fcntl(sock, F_SETFD, ::fcntl(sock, F_GETFD) | FD_CLOEXEC);
}

std::string display(const ListenAddress& address) {
  return address.host.find(':') != std::string::npos ? fmt::format("[{}]:{}", address.host, address.port)
                                                     : fmt::format("{}:{}", address.host, address.port);
}

}  // namespace

Result<ListenAddress> parse_listen_address(const std::string& text) {
  const std::string usage =
      "give HOST:PORT, e.g. 127.0.0.1:9464 (this machine only), 0.0.0.0:9464 (every interface) or "
      "[::1]:9464";
  ListenAddress address;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return Error{"--prometheus '" + text + "': an IPv6 address in brackets needs ':PORT' after it; " +
                   usage};
    address.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string::npos) return Error{"--prometheus '" + text + "' has no port; " + usage};
    address.host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (address.host.find(':') != std::string::npos)
      return Error{"--prometheus '" + text + "': write an IPv6 address in brackets, e.g. [::1]:9464"};
  }
  if (address.host.empty()) return Error{"--prometheus '" + text + "' has no host; " + usage};
  const bool digits = !port.empty() && port.size() <= 5 &&
                      std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
  address.port = digits ? std::stoi(port) : 0;
  if (address.port < 1 || address.port > 65535)
    return Error{"--prometheus '" + text + "': the port must be a number from 1 to 65535; " + usage};
  return address;
}

void MetricsPublisher::publish(MetricsSnapshot snapshot) {
  std::lock_guard lock(mutex_);
  for (DeviceMetrics& device : snapshot.devices) {
    double& floor = energy_floor_j_[series_key(device)];
    device.energy_j = std::max(device.energy_j, floor);
    floor = device.energy_j;
  }
  if (snapshot.emissions_g) {
    snapshot.emissions_g = std::max(*snapshot.emissions_g, emissions_floor_g_);
    emissions_floor_g_ = *snapshot.emissions_g;
  }
  latest_ = std::move(snapshot);
}

std::optional<MetricsSnapshot> MetricsPublisher::latest() const {
  std::lock_guard lock(mutex_);
  return latest_;
}

std::string MetricsPublisher::render() const {
  std::optional<MetricsSnapshot> snapshot = latest();  // rendered outside the lock
  return snapshot ? render_prometheus_text(*snapshot) : std::string();
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(
    const ListenAddress& address, std::shared_ptr<const MetricsPublisher> publisher) {
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  server->server_ = std::make_unique<httplib::Server>();
  httplib::Server& http = *server->server_;
  http.new_task_queue = [] { return new httplib::ThreadPool(2); };
  http.set_socket_options(listener_socket_options);
  // One request per connection: no idle keep-alive connection can hold up stop().
  http.set_keep_alive_max_count(1);
  http.set_read_timeout(5);
  http.set_write_timeout(5);
  http.Get("/metrics", [publisher](const httplib::Request&, httplib::Response& response) {
    response.set_content(publisher->render(), std::string(kPrometheusContentType));
  });
  http.Get("/", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("carbonmeter: metrics at /metrics\n", "text/plain; charset=utf-8");
  });
  errno = 0;
  if (!http.bind_to_port(address.host, address.port)) {
    const int error = errno;
    std::string why;
    if (error == EADDRINUSE)
      why = "the port is in use (choose another port, or stop what listens there)";
    else if (error == EADDRNOTAVAIL)
      why = address.host +
            " is not an address of this machine (127.0.0.1: this machine only; 0.0.0.0: every "
            "interface)";
    else if (error == EACCES)
      why = "permission denied (ports below 1024 need privileges: choose a port above 1024)";
    else if (error != 0)
      why = std::strerror(error);
    else
      why = "cannot resolve the host " + address.host;
    return Error{"--prometheus: cannot listen on " + display(address) + ": " + why};
  }
  MetricsServer* self = server.get();
  server->thread_ = std::thread([self] {
    self->server_->listen_after_bind();
    self->finished_ = true;
  });
  server->wait_until_running();
  return server;
}

void MetricsServer::wait_until_running() const {
  // httplib's stop() does nothing to a server whose thread has not started listening yet.
  while (!server_->is_running() && !finished_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void MetricsServer::stop() {
  if (!thread_.joinable()) return;
  wait_until_running();
  server_->stop();
  thread_.join();
}

MetricsServer::~MetricsServer() { stop(); }

}  // namespace carbonmeter::metrics
