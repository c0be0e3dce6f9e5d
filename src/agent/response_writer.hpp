// The agent's answers: one line of JSON each, ending in '\n' (docs/agent.md, "Protocol").
#pragma once

#include <string>
#include <string_view>

#include "agent/protocol.hpp"

namespace carbonmeter::agent {

std::string hello_response(const HelloInfo& hello);
std::string read_response(const ReadInfo& read);
// {"ok":false,...}: the request was refused; the agent closes the connection after it.
std::string error_response(std::string_view message);

}  // namespace carbonmeter::agent
