// The agent's log: one line per event on stderr (the journal under systemd), with the client's
// credentials from SO_PEERCRED, and a cap on lines per minute so that a client sending garbage in a
// loop cannot flood the log. Thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

namespace carbonmeter::agent {

struct PeerCredentials {
  bool known = false;
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

// The credentials of the process at the other end of a Unix socket.
PeerCredentials peer_credentials(int fd);
// "pid 123 uid 1000 gid 1000" (or "unknown peer").
std::string describe_peer(const PeerCredentials& peer);
// At most max_bytes of what a client sent, with anything but printable ASCII escaped (\n, \x00).
std::string printable_excerpt(std::string_view bytes, std::size_t max_bytes = 40);

class AgentLog {
 public:
  // out: where lines go (stderr in the agent). max_lines_per_minute: beyond it, problem lines are
  // counted and their number is logged with the next one that is let through.
  explicit AgentLog(std::FILE* out = stderr, int max_lines_per_minute = 60);
  // Always written: start, stop, sensor notes.
  void info(const std::string& message);
  // Rate-limited: malformed requests, refused or timed-out clients.
  void problem(const std::string& message);
  long long suppressed() const;

 private:
  void write_locked(const std::string& message);

  std::FILE* out_;
  int max_lines_per_minute_;
  mutable std::mutex mutex_;
  std::chrono::steady_clock::time_point window_start_;
  int lines_in_window_ = 0;
  long long suppressed_ = 0;
  long long suppressed_total_ = 0;
};

}  // namespace carbonmeter::agent
