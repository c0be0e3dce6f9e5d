#include "server/dashboard_auth.hpp"

#include <fmt/format.h>

#include <cctype>
#include <chrono>
#include <mutex>
#include <unordered_map>

#include "core/url_encode.hpp"
#include "server/auth.hpp"

namespace carbonmeter::server::dashboard {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// The cookie holds a random session id; the token stays in this server's memory. A cookie is sent
// to every port of the host, so it must not carry a token that works on the API. Sessions end
// after kCookieMaxAgeS, at log-out, and when the server restarts (the reader signs in again).
class Sessions {
 public:
  Result<std::string> open(const std::string& token) {
    auto id = generate_token();
    if (!id) return id.error();
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (tokens_.size() >= kMaxSessions)
      std::erase_if(tokens_, [&](const auto& entry) { return entry.second.expires < now; });
    if (tokens_.size() >= kMaxSessions) tokens_.erase(tokens_.begin());
    tokens_[id.value()] = Session{token, now + std::chrono::seconds(kCookieMaxAgeS)};
    return id;
  }
  std::string token_of(const std::string& id) {
    std::lock_guard lock(mutex_);
    auto found = tokens_.find(id);
    if (found == tokens_.end()) return "";
    if (found->second.expires < std::chrono::steady_clock::now()) {
      tokens_.erase(found);
      return "";
    }
    return found->second.token;
  }
  void close(const std::string& id) {
    std::lock_guard lock(mutex_);
    tokens_.erase(id);
  }

 private:
  static constexpr std::size_t kMaxSessions = 10'000;
  struct Session {
    std::string token;
    std::chrono::steady_clock::time_point expires;
  };
  std::mutex mutex_;
  std::unordered_map<std::string, Session> tokens_;
};

Sessions& sessions() {
  static Sessions all;
  return all;
}

}  // namespace

std::string request_token(const httplib::Request& request) {
  if (std::string token = bearer_token(request.get_header_value("Authorization")); !token.empty())
    return token;
  const std::string session = cookie_token(request.get_header_value("Cookie"));
  if (session.empty()) return "";
  // An unknown session still counts as a credential (so that it gets the 401 that clears it).
  const std::string token = sessions().token_of(session);
  return token.empty() ? "cm_session_ended" : token;
}

void end_session(const std::string& cookie_header) {
  if (std::string session = cookie_token(cookie_header); !session.empty()) sessions().close(session);
}

std::string cookie_token(const std::string& cookie_header) {
  std::string_view rest = cookie_header;
  const std::string_view name = kCookieName;
  while (!rest.empty()) {
    const std::size_t end = rest.find(';');
    const std::string_view pair = trim(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name && pair[name.size()] == '=') {
      return std::string(pair.substr(name.size() + 1));  // a session id: no characters to decode
    }
  }
  return "";
}

std::string session_cookie(const std::string& token, bool secure) {
  auto session = sessions().open(token);
  if (!session) return cleared_cookie(secure);  // no randomness: no session, the reader is asked again
  return fmt::format("{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{}", kCookieName, session.value(),
                     kCookieMaxAgeS, secure ? "; Secure" : "");
}

std::string cleared_cookie(bool secure) {
  return fmt::format("{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{}", kCookieName,
                     secure ? "; Secure" : "");
}

bool reached_over_https(const httplib::Request& request) {
  std::string proto = request.get_header_value("X-Forwarded-Proto");
  for (char& c : proto) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return proto == "https";
}

httplib::Request bearer_request(const httplib::Request& request, const std::string& token) {
  httplib::Request out;
  out.remote_addr = request.remote_addr;
  out.remote_port = request.remote_port;
  if (!token.empty()) out.headers.emplace("Authorization", "Bearer " + token);
  return out;
}

std::string safe_next_path(const std::string& next) {
  if (next.empty() || next[0] != '/' || (next.size() > 1 && (next[1] == '/' || next[1] == '\\'))) return "/";
  for (const char c : next) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "/";  // no header splitting
  }
  return next;
}

std::string path_without_token(const httplib::Request& request) {
  std::string out;
  std::size_t start = 0;
  // request.path is decoded: encode each segment again.
  while (start <= request.path.size()) {
    const std::size_t slash = request.path.find('/', start);
    out += url_encode(std::string_view(request.path).substr(start, slash - start));
    if (slash == std::string::npos) break;
    out += '/';
    start = slash + 1;
  }
  char separator = '?';
  for (const auto& [name, value] : request.params) {
    if (name == "token") continue;
    out += separator + url_encode(name) + "=" + url_encode(value);
    separator = '&';
  }
  return out;
}

}  // namespace carbonmeter::server::dashboard
