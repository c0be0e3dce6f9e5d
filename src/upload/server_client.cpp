#include "upload/server_client.hpp"

#include <charconv>

#include "core/run_report.hpp"
#include "net/http_module.hpp"

namespace carbonmeter::upload {
namespace {

Error url_error(const std::string& text, const std::string& why) {
  return Error{"--server '" + text + "': " + why +
               "; write the server's address as http://HOST:PORT (or https://HOST[:PORT][/PATH])"};
}

}  // namespace

std::string ServerUrl::origin() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return scheme + "://" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string ServerUrl::text() const { return origin() + base_path; }

Result<ServerUrl> parse_server_url(const std::string& text) {
  ServerUrl url;
  std::string rest;
  if (text.rfind("http://", 0) == 0) {
    url.scheme = "http";
    rest = text.substr(7);
  } else if (text.rfind("https://", 0) == 0) {
    url.scheme = "https";
    rest = text.substr(8);
  } else {
    return url_error(text, "it does not start with http:// or https://");
  }
  const std::size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) {
    url.base_path = rest.substr(slash);
    while (!url.base_path.empty() && url.base_path.back() == '/') url.base_path.pop_back();
    if (url.base_path.find_first_of("?# ") != std::string::npos)
      return url_error(text, "a query, fragment or space has no place in the server's address");
    // Tolerate the API's own prefix: the client adds /api/v1 itself.
    const std::string api = "/api/v1";
    if (url.base_path.size() >= api.size() &&
        url.base_path.compare(url.base_path.size() - api.size(), api.size(), api) == 0)
      url.base_path.resize(url.base_path.size() - api.size());
  }
  if (authority.find('@') != std::string::npos)
    return url_error(text, "credentials in the address are not used: give the key with --api-key");
  std::string port_text;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string::npos) return url_error(text, "an IPv6 address needs its closing ]");
    url.host = authority.substr(1, close - 1);
    const std::string after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return url_error(text, "unexpected text after the IPv6 address");
      port_text = after.substr(1);
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    url.host = authority.substr(0, colon);
    if (colon != std::string::npos) port_text = authority.substr(colon + 1);
  }
  if (url.host.empty()) return url_error(text, "no host");
  if (port_text.empty()) {
    url.port = url.scheme == "https" ? 443 : 80;
  } else {
    int port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 1 || port > 65535)
      return url_error(text, "the port '" + port_text + "' is not a number from 1 to 65535");
    url.port = port;
  }
  return url;
}

Result<std::string> resolve_api_key(const std::string& flag_value) {
  std::string key = flag_value;
  if (key.empty())
    if (auto env = process_env("CARBONMETER_API_KEY")) key = *env;
  if (key.empty())
    return Error{
        "--server needs an API key: pass --api-key KEY or set CARBONMETER_API_KEY (a project token "
        "from `POST /api/v1/projects/NAME/tokens`, docs/api.md)"};
  for (unsigned char c : key)
    if (c <= ' ' || c == 0x7f)
      return Error{
          "the API key contains a space or a control character: give the token as the server printed it"};
  return key;
}

Result<std::unique_ptr<ServerClient>> ServerClient::connect(ServerUrl url, const std::string& api_key,
                                                            double timeout_s) {
  auto module = net::http_module();
  if (!module) return module.error();
  if (url.scheme == "https" && !module.value()->https_supported)
    return Error{url.text() +
                 " is https, but this carbonmeter's HTTP module was built without TLS (cpp-httplib without "
                 "CPPHTTPLIB_OPENSSL_SUPPORT): use a carbonmeter built with TLS, or reach the server over "
                 "http:// (on a trusted network, or through a tunnel)"};
  auto poster = module.value()->make_poster(url.origin(), api_key, timeout_s);
  return std::unique_ptr<ServerClient>(new ServerClient(std::move(url), std::move(poster)));
}

ServerClient::ServerClient(ServerUrl url, std::unique_ptr<net::JsonPoster> poster)
    : url_(std::move(url)), poster_(std::move(poster)) {}

ServerClient::~ServerClient() = default;

ServerAnswer ServerClient::post(const std::string& path, const nlohmann::json& body) {
  ServerAnswer answer;
  const net::PostReply reply = poster_->post(url_.base_path + "/api/v1" + path, dump_json(body));
  if (reply.status == 0) {
    answer.error = "no answer from " + url_.text() + ": " + reply.transport_error;
    return answer;
  }
  answer.status = reply.status;
  if (answer.ok()) return answer;
  // The API's errors are {"error": {"message": ...}}; anything else is shown as it came.
  const nlohmann::json answered = nlohmann::json::parse(reply.body, nullptr, false);
  std::string message;
  if (answered.is_object() && answered.contains("error") && answered["error"].is_object() &&
      answered["error"].value("message", nlohmann::json()).is_string())
    message = answered["error"]["message"].get<std::string>();
  else
    message = reply.body.substr(0, 200);
  answer.error =
      url_.text() + " answered " + std::to_string(answer.status) + (message.empty() ? "" : ": " + message);
  return answer;
}

}  // namespace carbonmeter::upload
