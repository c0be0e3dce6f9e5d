// A client of the agent: connects to its socket, says HELLO, reads the counters. Blocking, with
// timeouts on every step, so that a stuck agent cannot stall the sampler for long.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "agent/protocol.hpp"
#include "carbonmeter/result.hpp"

namespace carbonmeter::agent {

inline constexpr double kClientTimeoutS = 1.0;

// Why a connection failed: the errno of connect() (ENOENT: no socket, EACCES: no permission,
// ECONNREFUSED: no agent behind it), or 0 when the agent answered but wrongly.
struct ConnectFailure {
  int error_number = 0;
  std::string message;
};

class AgentClient {
 public:
  // Connects and sends HELLO. failure (optional) tells why it could not.
  static Result<std::unique_ptr<AgentClient>> connect(const std::string& path,
                                                      double timeout_s = kClientTimeoutS,
                                                      ConnectFailure* failure = nullptr);
  ~AgentClient();
  AgentClient(const AgentClient&) = delete;
  AgentClient& operator=(const AgentClient&) = delete;

  const HelloInfo& hello() const { return hello_; }
  const std::string& path() const { return path_; }
  Result<ReadInfo> read();
  // Sends raw bytes and returns the answer line (tests, and `carbonmeter agent --check`-like use).
  Result<std::string> exchange(std::string_view request);

 private:
  AgentClient(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  Result<std::string> read_line();

  int fd_ = -1;
  std::string path_;
  HelloInfo hello_;
  std::string buffer_;
};

}  // namespace carbonmeter::agent
