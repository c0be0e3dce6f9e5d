// The HTTP code of the measuring program (run/monitor --prometheus, --server, upload) lives in a
// module of its own, libcarbonmeter-http.so, loaded on first use: cpp-httplib brings the TLS,
// zlib and brotli libraries, which would otherwise cost every `carbonmeter run` about 3 MiB of
// memory and their start-up time. The interface is plain C++: the module is built with the
// program, from the same sources, and is only ever loaded by it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "carbonmeter/result.hpp"

namespace carbonmeter::net {

// Serves GET /metrics with what `render` returns, on a thread of its own, until stopped.
class MetricsListener {
 public:
  virtual ~MetricsListener() = default;
  virtual void stop() = 0;  // stops listening and joins the thread
};

struct PostReply {
  int status = 0;  // 0: no answer
  std::string body;
  std::string transport_error;  // for people, when status is 0
};

// POSTs JSON to one server (keep-alive, Bearer token, time-outs).
class JsonPoster {
 public:
  virtual ~JsonPoster() = default;
  virtual PostReply post(const std::string& path, const std::string& json_body) = 0;
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct GetReply {
  int status = 0;  // 0: no answer
  std::string body;
  HttpHeaders headers;          // the response's, names as the server wrote them
  std::string transport_error;  // for people, when status is 0
};

// The first value of a response header (names compared without case), or "".
inline std::string header_value(const GetReply& reply, std::string_view name) {
  const auto same = [name](const std::string& other) {
    if (other.size() != name.size()) return false;
    for (std::size_t i = 0; i < name.size(); ++i)
      if ((other[i] | 0x20) != (name[i] | 0x20)) return false;
    return true;
  };
  for (const auto& [key, value] : reply.headers)
    if (same(key)) return value;
  return "";
}

struct HttpModule {
  int interface_version;
  // The error names the address and says what to do (port in use, not an address of this machine).
  Result<std::unique_ptr<MetricsListener>> (*listen_metrics)(const std::string& host, int port,
                                                             const std::string& content_type,
                                                             std::function<std::string()> render);
  // scheme_host_port: "http://127.0.0.1:8080", "https://[::1]:443".
  std::unique_ptr<JsonPoster> (*make_poster)(const std::string& scheme_host_port,
                                             const std::string& bearer_token, double timeout_s);
  // One GET, redirects not followed (the caller decides where its credentials may go).
  // path_and_query: "/api/models?limit=100", already URL-encoded.
  GetReply (*get)(const std::string& scheme_host_port, const std::string& path_and_query,
                  const HttpHeaders& request_headers, double timeout_s);
  bool https_supported;  // built with TLS (cpp-httplib's CPPHTTPLIB_OPENSSL_SUPPORT)
};

// interface_version stays the first member: the loader reads it before anything else.
inline constexpr int kHttpModuleInterfaceVersion = 2;

// The module: linked in (tests), else loaded from CARBONMETER_HTTP_MODULE, beside the program, or
// from the installed library folder. Loaded once; the error says where it looked and what to do.
Result<const HttpModule*> http_module();

}  // namespace carbonmeter::net

extern "C" const carbonmeter::net::HttpModule* carbonmeter_http_module();
