#include "hub/hub_api.hpp"

#include <algorithm>
#include <set>

#include "carbonmeter/version.hpp"
#include "hub/http_url.hpp"
#include "hub/json_emissions.hpp"

namespace carbonmeter::hub {
namespace {

using nlohmann::json;

constexpr int kPageSize = 100;
constexpr int kMaxRedirects = 5;

std::string one_line(std::string text, std::size_t max_chars = 160) {
  for (char& c : text)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  if (text.size() > max_chars) text = text.substr(0, max_chars) + "...";
  return text;
}

// What the server said about a refusal: the "error" of a JSON answer, else the start of the body.
std::string refusal_detail(const net::GetReply& reply) {
  const json body = json::parse(reply.body, nullptr, false);
  if (body.is_object() && body.contains("error") && body["error"].is_string())
    return ": " + one_line(body["error"].get<std::string>());
  const std::string text = one_line(reply.body);
  return text.empty() ? "" : ": " + text;
}

std::string status_hint(int status) {
  if (status == 401 || status == 403) return " (set HF_TOKEN to a valid token, or check --author/--search)";
  if (status == 404) return " (is HF_ENDPOINT / --endpoint the Hub, or a mirror of its API?)";
  if (status == 429) return " (too many requests: wait a while, or set HF_TOKEN)";
  if (status >= 500) return " (the Hub has a problem: try again later)";
  return "";
}

// A page's answer, and the URL that gave it (after redirects), against which its links resolve.
struct PageReply {
  net::GetReply reply;
  SplitUrl at;
};

// One page, following redirects; the token goes only to the endpoint's own host.
Result<PageReply> get_page(const net::HttpModule& http, const OnlineQuery& query,
                           const std::string& endpoint_origin, std::string url) {
  for (int redirect = 0;; ++redirect) {
    auto split = split_url(url);
    if (!split) return Error{"cannot follow the Hub's link: " + split.error().message};
    if (split.value().scheme == "https" && !http.https_supported)
      return Error{url +
                   " is https, but this carbonmeter's HTTP module was built without TLS (cpp-httplib "
                   "without CPPHTTPLIB_OPENSSL_SUPPORT): use a carbonmeter built with TLS, or an "
                   "http:// mirror (HF_ENDPOINT or --endpoint)"};
    net::HttpHeaders headers = {{"Accept", "application/json"},
                                {"User-Agent", std::string("carbonmeter/") + kVersion}};
    if (query.token && split.value().scheme_host_port == endpoint_origin)
      headers.emplace_back("Authorization", "Bearer " + *query.token);
    const std::string path = split.value().path_and_query.empty() ? "/" : split.value().path_and_query;
    net::GetReply reply = http.get(split.value().scheme_host_port, path, headers, query.timeout_s);
    if (reply.status == 0)
      return Error{"cannot reach the Hub API at " + url + ": " + reply.transport_error +
                   " (check HF_ENDPOINT / --endpoint and the network)"};
    const std::string location = header_value(reply, "Location");
    const bool redirected = reply.status == 301 || reply.status == 302 || reply.status == 303 ||
                            reply.status == 307 || reply.status == 308;
    if (!redirected || location.empty()) return PageReply{std::move(reply), std::move(split).value()};
    if (redirect == kMaxRedirects)
      return Error{"the Hub API at " + url +
                   " redirects too many times: check that HF_ENDPOINT / --endpoint is the Hub, or a mirror "
                   "of its API"};
    url = absolute_url(split.value(), location);
  }
}

}  // namespace

std::string first_page_path(const OnlineQuery& query, const std::string& endpoint_path) {
  std::string path = endpoint_path;
  while (!path.empty() && path.back() == '/') path.pop_back();
  path += "/api/models?filter=co2_eq_emissions&cardData=true&limit=" +
          std::to_string(std::clamp(query.limit, 1, kPageSize));
  if (query.search) path += "&search=" + url_encode(*query.search);
  if (query.author) path += "&author=" + url_encode(*query.author);
  return path;
}

int tally_page(SearchTally& tally, const json& page, int room, const std::string& endpoint,
               const std::string& page_url) {
  int taken = 0;
  for (const json& item : page) {
    if (taken >= room) break;
    ++taken;
    std::string id;
    if (item.is_object()) {
      for (const char* key : {"id", "modelId"})
        if (item.contains(key) && item[key].is_string() && !item[key].get<std::string>().empty()) {
          id = item[key].get<std::string>();
          break;
        }
    }
    if (id.empty()) {
      tally.unreadable.push_back(
          {page_url, "an item of the answer has no \"id\": " +
                         one_line(item.dump(-1, ' ', false, json::error_handler_t::replace), 80)});
      continue;
    }
    const json card_data = item.is_object() && item.contains("cardData") ? item["cardData"] : json(nullptr);
    add_to_tally(tally, {id, endpoint + "/" + id}, emissions_from_card_data(card_data),
                 " (in the card's metadata)");
  }
  return taken;
}

Result<SearchTally> fetch_hub_models(const net::HttpModule& http, const OnlineQuery& query) {
  std::string endpoint = query.endpoint;
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  auto split = split_url(endpoint);
  if (!split) return Error{"the Hub endpoint: " + split.error().message};
  std::string url = split.value().scheme_host_port + first_page_path(query, split.value().path_and_query);
  SearchTally tally;
  std::set<std::string> seen;
  int taken = 0;
  while (taken < query.limit) {
    seen.insert(url);
    auto reply = get_page(http, query, split.value().scheme_host_port, url);
    if (!reply) return reply.error();
    const net::GetReply& answer = reply.value().reply;
    if (answer.status != 200)
      return Error{"the Hub API at " + url + " answered HTTP " + std::to_string(answer.status) +
                   refusal_detail(answer) + status_hint(answer.status)};
    const json page = json::parse(answer.body, nullptr, false);
    if (page.is_discarded())
      return Error{"the Hub API at " + url + " did not answer JSON (is HF_ENDPOINT / --endpoint the Hub?): " +
                   one_line(answer.body, 80)};
    if (!page.is_array())
      return Error{"the Hub API at " + url + " answered JSON that is not a list of models: " +
                   one_line(page.dump(-1, ' ', false, json::error_handler_t::replace), 80)};
    const int took = tally_page(tally, page, query.limit - taken, endpoint, url);
    taken += took;
    std::optional<std::string> next_url;
    if (const std::optional<std::string> next = next_link(header_value(answer, "Link"));
        next && !page.empty())
      next_url = absolute_url(reply.value().at, *next);
    if (next_url && seen.count(*next_url)) next_url.reset();  // a server that links a page to itself
    // Stopped by the limit: the Hub has more when this page had items left over, or links further.
    if (taken >= query.limit) tally.truncated = took < static_cast<int>(page.size()) || next_url.has_value();
    if (!next_url) break;
    url = *next_url;
  }
  return tally;
}

}  // namespace carbonmeter::hub
