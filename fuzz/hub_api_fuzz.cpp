// libFuzzer target for the Hub API client (src/hub/hub_api.cpp, src/hub/http_url.cpp,
// src/hub/json_emissions.cpp): `carbonmeter hub search --online` against a Hub whose answers are
// the input. Whatever the answers (statuses, redirects, Link headers, JSON), fetch_hub_models gives
// a tally or one error line, stays within its limit and never follows links forever.
//
// Input: the answers to the client's GETs, in order, separated by a line `====`. Each answer is a
// status line (a number), header lines `Name: value`, a blank line, then the body:
//   200
//   Link: </api/models?cursor=2>; rel="next"
//
//   [{"id": "org/model", "cardData": {"co2_eq_emissions": 1200}}]
// A GET beyond the last answer gets no answer (a transport error). No network is used.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "hub/http_url.hpp"
#include "hub/hub_api.hpp"
#include "net/http_module.hpp"

using namespace carbonmeter;

namespace {

std::vector<net::GetReply> g_answers;
std::size_t g_next = 0;

std::string_view cut_line(std::string_view& text) {
  const std::size_t eol = text.find('\n');
  std::string_view line = text.substr(0, eol);
  text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

net::GetReply parse_answer(std::string_view text) {
  net::GetReply reply;
  const std::string_view status = cut_line(text);
  reply.status = 0;
  for (char c : status.substr(0, 3))
    reply.status = c >= '0' && c <= '9' ? reply.status * 10 + (c - '0') : reply.status;
  while (!text.empty()) {
    const std::string_view line = cut_line(text);
    if (line.empty()) break;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    reply.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  reply.body = std::string(text);
  if (reply.status == 0) reply.transport_error = "connection refused";
  return reply;
}

net::GetReply fake_get(const std::string& scheme_host_port, const std::string& path_and_query,
                       const net::HttpHeaders&, double) {
  if (scheme_host_port.empty() || (!path_and_query.empty() && path_and_query.front() != '/')) std::abort();
  if (g_next >= g_answers.size()) return {0, "", {}, "connection refused"};
  return g_answers[g_next++];
}

const net::HttpModule kFakeModule{net::kHttpModuleInterfaceVersion, nullptr, nullptr, fake_get, true};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input = fuzz::as_text(data, size);
  g_answers.clear();
  g_next = 0;
  constexpr std::string_view kSeparator = "\n====\n";
  for (;;) {
    const std::size_t at = input.find(kSeparator);
    g_answers.push_back(parse_answer(input.substr(0, at)));
    if (at == std::string_view::npos) break;
    input.remove_prefix(at + kSeparator.size());
  }

  // The Link header and the URLs on their own, from each answer.
  for (const net::GetReply& answer : g_answers) {
    const std::string link = net::header_value(answer, "Link");
    if (auto next = hub::next_link(link)) {
      auto base = hub::split_url("https://huggingface.co/api/models");
      if (!base) std::abort();
      (void)hub::split_url(hub::absolute_url(base.value(), *next));
    }
    (void)hub::split_url(net::header_value(answer, "Location"));
  }

  hub::OnlineQuery query;
  query.endpoint = "https://hub.example/mirror";
  query.search = "bert";
  query.limit = 40;
  query.token = "hf_secret";
  auto tally = hub::fetch_hub_models(kFakeModule, query);
  if (g_next > g_answers.size()) std::abort();
  if (!tally) {
    if (tally.error().message.empty() || tally.error().message.find('\n') != std::string::npos) std::abort();
    return 0;
  }
  const auto& t = tally.value();
  if (t.reporting.size() + t.unreadable.size() + static_cast<std::size_t>(t.without_emissions) >
      static_cast<std::size_t>(query.limit))
    std::abort();
  return 0;
}
