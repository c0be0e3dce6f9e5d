// RAPL read through `carbonmeter agent` (docs/agent.md): a privileged daemon serves the counters
// read-only on a Unix socket, for trackers that cannot read energy_uj or the MSRs themselves. The
// socket is $CARBONMETER_AGENT_SOCKET, else /run/carbonmeter/agent.sock.
#pragma once

#include <string>

#include "sensors/rapl_domains.hpp"
#include "sensors/sensor_status.hpp"

namespace carbonmeter {

std::string agent_socket_path();

// Connects to the agent and keeps the channels of the chosen domains. Not found, with the reason and
// the fix, when there is no socket, no permission (join the socket's group), or no agent behind it.
ProbeOutcome probe_rapl_agent(const RaplDomains& domains);

}  // namespace carbonmeter
