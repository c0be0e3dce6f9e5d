// The client's side of the agent's answers: one JSON line → HelloInfo / ReadInfo, or an error that
// says what was wrong (a refusal carries the agent's own message). Strict about types and sizes.
#pragma once

#include <string_view>

#include "agent/protocol.hpp"
#include "carbonmeter/result.hpp"

namespace carbonmeter::agent {

Result<HelloInfo> parse_hello_response(std::string_view line);
Result<ReadInfo> parse_read_response(std::string_view line);

}  // namespace carbonmeter::agent
