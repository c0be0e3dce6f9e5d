// The agent's wire protocol, version 1 (docs/agent.md): a client sends one-line text requests
// (`HELLO 1`, `READ`), the agent answers each with one line of JSON. What both sides share: the
// limits, the default socket path, and what a response holds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "carbonmeter/measurement.hpp"

namespace carbonmeter::agent {

inline constexpr int kProtocolVersion = 1;
// A request line, its '\n' included, is at most this long; longer input is malformed.
inline constexpr std::size_t kMaxRequestBytes = 64;
// A response line, its '\n' included, is at most this long (a client reads no further).
inline constexpr std::size_t kMaxResponseBytes = 64 * 1024;
// The most channels a response may list (a client refuses more).
inline constexpr std::size_t kMaxChannels = 256;

inline constexpr const char* kDefaultSocketPath = "/run/carbonmeter/agent.sock";
inline constexpr const char* kSocketPathVariable = "CARBONMETER_AGENT_SOCKET";

// One counter the agent serves: a RAPL domain of a device.
struct ChannelInfo {
  Component component = Component::cpu;
  std::string device;  // "package-0"
  std::string domain;  // "package", "dram", "psys", "core", "uncore"
  double relative_uncertainty = 0.0;
};

// The answer to HELLO: who serves, how, and which channels.
struct HelloInfo {
  int protocol = kProtocolVersion;
  std::string agent;     // "carbonmeter 0.1.0"
  std::string instance;  // random per agent start: a new one means the counters restarted from 0
  long pid = 0;
  std::string method;  // what the agent reads: "rapl-powercap" or "rapl-msr"
  double sample_period_s = 0.0;
  std::vector<ChannelInfo> channels;
};

// The answer to READ: cumulative energy per channel since the agent started, in µJ, never
// decreasing and never wrapping while the same instance runs.
struct CounterReading {
  std::string device;
  std::string domain;
  std::uint64_t energy_uj = 0;
};
struct ReadInfo {
  std::string instance;
  std::uint64_t monotonic_ns = 0;  // CLOCK_MONOTONIC when the counters were sampled
  std::vector<CounterReading> counters;
};

}  // namespace carbonmeter::agent
