// carbonmeter hub search --online: the models whose cards report emissions, from the Hub's API
//   GET ENDPOINT/api/models?filter=co2_eq_emissions&cardData=true&limit=100[&search=..][&author=..]
// following the `Link: <URL>; rel="next"` header from page to page. Each item is
//   {"id": "org/name", "cardData": {"co2_eq_emissions": 1200 or {"emissions": 1200, ...}}}
// ("modelId" in older answers), read with the card rules (json_emissions.hpp).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "carbonmeter/result.hpp"
#include "hub/model_search.hpp"
#include "net/http_module.hpp"

namespace carbonmeter::hub {

inline constexpr const char* kDefaultHubEndpoint = "https://huggingface.co";

struct OnlineQuery {
  std::string endpoint = kDefaultHubEndpoint;  // HF_ENDPOINT or --endpoint
  std::optional<std::string> search;           // --search: part of the model id
  std::optional<std::string> author;           // --author: the organisation or user
  int limit = 1000;                            // models read at most, over all pages
  std::optional<std::string> token;            // HF_TOKEN: sent to the endpoint's host only
  double timeout_s = 30.0;                     // per request
};

// The path and query of the first page, under the endpoint's own path (a mirror's prefix).
std::string first_page_path(const OnlineQuery& query, const std::string& endpoint_path);

// Adds one page's items to the tally, at most `room` of them; returns how many it took. Items
// without an id, or whose co2_eq_emissions is malformed, are unreadable (path: the model's URL, or
// `page_url` when it has no id).
int tally_page(SearchTally& tally, const nlohmann::json& page, int room, const std::string& endpoint,
               const std::string& page_url);

// Every page, until no next link or `limit` models (the tally's `truncated` says whether the Hub had
// more). The error (the server is down, answers
// another status than 200, or not a JSON list) is one line that names the URL.
Result<SearchTally> fetch_hub_models(const net::HttpModule& http, const OnlineQuery& query);

}  // namespace carbonmeter::hub
