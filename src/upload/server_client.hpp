// Talks to a carbonmeter server's JSON API (docs/api.md) on behalf of run and monitor: one POST at
// a time, a Bearer token, short timeouts so that a server that is down never holds a run up.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "carbonmeter/result.hpp"

namespace carbonmeter::net {
class JsonPoster;
}

namespace carbonmeter::upload {

struct ServerUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets for IPv6
  int port = 0;
  std::string base_path;       // "" or "/prefix" (no trailing slash): a server behind a reverse proxy
  std::string origin() const;  // scheme://host:port, IPv6 in brackets
  std::string text() const;    // origin() + base_path
};

// "http://HOST[:PORT][/PATH]" or "https://..."; the error says what to write instead.
Result<ServerUrl> parse_server_url(const std::string& text);

// The API key from --api-key, else CARBONMETER_API_KEY; the error says how to give one.
Result<std::string> resolve_api_key(const std::string& flag_value);

struct ServerAnswer {
  int status = 0;     // 0: no answer (connection refused, timeout, TLS failure)
  std::string error;  // a message for people: the transport error or the server's error message
  // Worth sending again later: no answer, 429 or 5xx. Other 4xx will not change on retry.
  bool retryable() const { return status == 0 || status == 429 || status >= 500; }
  bool ok() const { return status >= 200 && status < 300; }
};

class ServerClient {
 public:
  // Fails when the HTTP module cannot be loaded (net/http_module.hpp), or for an https address when
  // it was built without TLS.
  static Result<std::unique_ptr<ServerClient>> connect(ServerUrl url, const std::string& api_key,
                                                       double timeout_s = 5.0);
  ~ServerClient();
  ServerClient(const ServerClient&) = delete;
  ServerClient& operator=(const ServerClient&) = delete;

  // POSTs the JSON body to base_path + "/api/v1" + path.
  ServerAnswer post(const std::string& path, const nlohmann::json& body);
  const ServerUrl& url() const { return url_; }

 private:
  ServerClient(ServerUrl url, std::unique_ptr<net::JsonPoster> poster);
  ServerUrl url_;
  std::unique_ptr<net::JsonPoster> poster_;
};

}  // namespace carbonmeter::upload
