// Serves /metrics for Prometheus (--prometheus HOST:PORT). The measuring side publishes a
// snapshot under a mutex; a scrape copies the latest one and renders it, so it never waits for
// the sampler, and the sampler never waits for a scrape.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "carbonmeter/result.hpp"
#include "metrics/prometheus_text.hpp"

namespace carbonmeter::net {
class MetricsListener;
}

namespace carbonmeter::metrics {

struct ListenAddress {
  std::string host;  // "127.0.0.1", "0.0.0.0", "::1", "localhost"
  int port = 0;      // 1..65535
};

// "HOST:PORT", "[IPV6]:PORT"; the error says what was wrong and what to write instead.
Result<ListenAddress> parse_listen_address(const std::string& text);

// The latest snapshot, safe to publish from one thread and render from others. Counters never go
// down: a value below what was published before for the same series keeps the earlier one.
class MetricsPublisher {
 public:
  void publish(MetricsSnapshot snapshot);
  std::optional<MetricsSnapshot> latest() const;
  // The exposition text of the latest snapshot ("" before the first one).
  std::string render() const;

 private:
  mutable std::mutex mutex_;
  std::optional<MetricsSnapshot> latest_;
  std::map<std::string, double> energy_floor_j_;  // by component/device/domain
  double emissions_floor_g_ = 0.0;
};

class MetricsServer {
 public:
  // Listens on the address and serves GET /metrics from the publisher on a thread of its own.
  // Fails (with a message naming the address) when it cannot listen there, e.g. the port is in use,
  // or when the HTTP module cannot be loaded (net/http_module.hpp).
  static Result<std::unique_ptr<MetricsServer>> start(const ListenAddress& address,
                                                      std::shared_ptr<const MetricsPublisher> publisher);
  ~MetricsServer();  // stops listening and joins the thread
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;
  void stop();

 private:
  MetricsServer() = default;
  std::unique_ptr<net::MetricsListener> listener_;
};

}  // namespace carbonmeter::metrics
