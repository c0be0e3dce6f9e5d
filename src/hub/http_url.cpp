#include "hub/http_url.hpp"

#include <cctype>

namespace carbonmeter::hub {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::string lower(std::string_view text) {
  std::string out;
  for (char c : text) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Whether a link's parameters ("; rel=\"next\"; title=x") include rel next (rel may list several).
bool rel_is_next(std::string_view parameters) {
  std::size_t at = 0;
  while (at < parameters.size()) {
    std::size_t end = parameters.find(';', at);
    if (end == std::string_view::npos) end = parameters.size();
    const std::string_view parameter = trim(parameters.substr(at, end - at));
    at = end + 1;
    const std::size_t equals = parameter.find('=');
    if (equals == std::string_view::npos || lower(trim(parameter.substr(0, equals))) != "rel") continue;
    std::string_view value = trim(parameter.substr(equals + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    const std::string rels = lower(value);
    std::size_t word = 0;
    while (word < rels.size()) {
      std::size_t word_end = rels.find(' ', word);
      if (word_end == std::string::npos) word_end = rels.size();
      if (rels.compare(word, word_end - word, "next") == 0) return true;
      word = word_end + 1;
    }
  }
  return false;
}

}  // namespace

Result<SplitUrl> split_url(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos)
    return Error{"'" + std::string(url) + "' is not a URL: write it as http://HOST[:PORT] or https://HOST"};
  SplitUrl split;
  split.scheme = lower(url.substr(0, scheme_end));
  if (split.scheme != "http" && split.scheme != "https")
    return Error{"'" + std::string(url) + "' is not an http:// or https:// URL"};
  const std::size_t host_start = scheme_end + 3;
  std::size_t path_start = url.find_first_of("/?#", host_start);
  if (path_start == std::string_view::npos) path_start = url.size();
  if (path_start == host_start) return Error{"'" + std::string(url) + "' has no host"};
  split.scheme_host_port =
      split.scheme + "://" + std::string(url.substr(host_start, path_start - host_start));
  std::string_view rest = url.substr(path_start);
  if (const std::size_t fragment = rest.find('#'); fragment != std::string_view::npos)
    rest = rest.substr(0, fragment);
  split.path_and_query = std::string(rest);
  if (!split.path_and_query.empty() && split.path_and_query.front() == '?')
    split.path_and_query = "/" + split.path_and_query;
  return split;
}

std::optional<std::string> next_link(std::string_view link_header) {
  std::size_t at = 0;
  while (true) {
    const std::size_t open = link_header.find('<', at);
    if (open == std::string_view::npos) return std::nullopt;
    const std::size_t close = link_header.find('>', open);
    if (close == std::string_view::npos) return std::nullopt;
    // The link's parameters run to the next link (a comma outside <...>).
    std::size_t end = link_header.find(',', close);
    const std::size_t next_open = link_header.find('<', close);
    if (end == std::string_view::npos || (next_open != std::string_view::npos && next_open < end))
      end = next_open == std::string_view::npos ? link_header.size() : next_open;
    if (rel_is_next(link_header.substr(close + 1, end - close - 1)))
      return std::string(trim(link_header.substr(open + 1, close - open - 1)));
    at = close + 1;
  }
}

std::string absolute_url(const SplitUrl& base, const std::string& link) {
  if (link.find("://") != std::string::npos) return link;
  if (link.starts_with("//")) return base.scheme + ":" + link;
  return base.scheme_host_port + (link.starts_with("/") ? "" : "/") + link;
}

}  // namespace carbonmeter::hub
