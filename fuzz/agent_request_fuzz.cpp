// libFuzzer target for the agent's request parser (src/agent/request_parser.cpp): whatever the
// bytes, parse_request returns a request, "incomplete" or an error, takes no more than its limit,
// and accepts only the canonical text of a known verb. Build: docs/agent.md, "Fuzzing".
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "agent/protocol.hpp"
#include "agent/request_parser.hpp"

using carbonmeter::agent::format_request;
using carbonmeter::agent::kMaxRequestBytes;
using carbonmeter::agent::parse_request;
using carbonmeter::agent::ParseStatus;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // As the server calls it: on everything buffered, one request after another.
  std::string_view rest = input;
  for (;;) {
    const auto outcome = parse_request(rest);
    switch (outcome.status) {
      case ParseStatus::request:
        if (outcome.consumed == 0 || outcome.consumed > kMaxRequestBytes || outcome.consumed > rest.size() ||
            format_request(outcome.request) + "\n" != rest.substr(0, outcome.consumed))
          std::abort();
        rest.remove_prefix(outcome.consumed);
        continue;
      case ParseStatus::incomplete:
        if (rest.size() >= kMaxRequestBytes || rest.find('\n') != std::string_view::npos ||
            outcome.consumed != 0)
          std::abort();
        return 0;
      case ParseStatus::error:
        if (outcome.error.empty() || outcome.error.size() > 120 || outcome.consumed != 0) std::abort();
        return 0;
    }
    std::abort();  // no other status
  }
}
