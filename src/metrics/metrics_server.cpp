#include "metrics/metrics_server.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "net/http_module.hpp"

namespace carbonmeter::metrics {
namespace {

std::string series_key(const DeviceMetrics& device) {
  return fmt::format("{}\x1f{}\x1f{}", component_name(device.component), device.device, device.domain);
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
  auto module = net::http_module();
  if (!module) return Error{"--prometheus: " + module.error().message};
  auto listener =
      module.value()->listen_metrics(address.host, address.port, std::string(kPrometheusContentType),
                                     [publisher] { return publisher->render(); });
  if (!listener) return listener.error();
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  server->listener_ = std::move(listener).value();
  return server;
}

void MetricsServer::stop() {
  if (listener_) listener_->stop();
}

MetricsServer::~MetricsServer() { stop(); }

}  // namespace carbonmeter::metrics
