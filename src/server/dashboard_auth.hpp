// How a browser shows the dashboard who it is: the API's tokens, sent as `Authorization: Bearer`
// (scripts), once as `?token=` (the server then opens a session and redirects to the URL without
// it), or through the login form. The session cookie (HttpOnly, SameSite=Lax) holds a random id,
// never the token, and is read by the dashboard only, never by the JSON API.
#pragma once

#include <string>

#include "server/http_lib.hpp"

namespace carbonmeter::server::dashboard {

constexpr const char* kCookieName = "carbonmeter_token";
constexpr int kCookieMaxAgeS = 12 * 3600;

// The token a request carries: its Authorization header's, else its session's ("" for none; a
// token that no API accepts for a session that has ended). ?token= is handled apart.
std::string request_token(const httplib::Request& request);

// The value of our cookie (a session id) in a Cookie header ("" when absent).
std::string cookie_token(const std::string& cookie_header);
// Ends the session of a Cookie header (log-out, a refused session).
void end_session(const std::string& cookie_header);

// Set-Cookie values that open a session for the token, and that remove the cookie. `secure`: the
// browser reached us over HTTPS (a TLS proxy in front says so with X-Forwarded-Proto: https).
std::string session_cookie(const std::string& token, bool secure);
std::string cleared_cookie(bool secure);
bool reached_over_https(const httplib::Request& request);

// A request holding only what HttpApi::identify reads: the client's address and
// `Authorization: Bearer TOKEN` (no header when `token` is empty).
httplib::Request bearer_request(const httplib::Request& request, const std::string& token);

// `next` when it is a path on this server ("/..." but not "//..." nor "/\..."), else "/".
std::string safe_next_path(const std::string& next);

// The request's path and query string without `token` (where ?token= redirects to).
std::string path_without_token(const httplib::Request& request);

}  // namespace carbonmeter::server::dashboard
