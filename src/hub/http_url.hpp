// The URL pieces the Hub client needs: splitting an http(s) URL for the HTTP module and the
// `Link: <URL>; rel="next"` header of paginated answers (RFC 8288). A query value is encoded with
// url_encode (core/url_encode.hpp, included here for the Hub client).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "carbonmeter/result.hpp"
#include "core/url_encode.hpp"

namespace carbonmeter::hub {

struct SplitUrl {
  std::string scheme;            // "http" or "https"
  std::string scheme_host_port;  // "https://huggingface.co", "http://127.0.0.1:8080"
  std::string path_and_query;    // "/api/models?limit=100"; "" when the URL has no path
};

// The error says what is wrong with the URL.
Result<SplitUrl> split_url(std::string_view url);

// The target of the link whose rel is "next", or nullopt.
std::optional<std::string> next_link(std::string_view link_header);

// A link target as an absolute URL: kept when it has a scheme, else resolved against `base`'s
// host ("/api/models?cursor=x").
std::string absolute_url(const SplitUrl& base, const std::string& link);

}  // namespace carbonmeter::hub
