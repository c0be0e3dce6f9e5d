#include "agent/agent_log.hpp"

#include <sys/socket.h>

#include <cstdio>

namespace carbonmeter::agent {

PeerCredentials peer_credentials(int fd) {
  ucred credentials{};
  socklen_t length = sizeof credentials;
  PeerCredentials peer;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 && length == sizeof credentials) {
    peer.known = true;
    peer.pid = credentials.pid;
    peer.uid = credentials.uid;
    peer.gid = credentials.gid;
  }
  return peer;
}

std::string describe_peer(const PeerCredentials& peer) {
  if (!peer.known) return "unknown peer";
  return "pid " + std::to_string(peer.pid) + " uid " + std::to_string(peer.uid) + " gid " +
         std::to_string(peer.gid);
}

std::string printable_excerpt(std::string_view bytes, std::size_t max_bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes.size() && i < max_bytes; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c >= 0x20 && c <= 0x7e) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kDigits[c >> 4];
      out += kDigits[c & 0xF];
    }
  }
  if (bytes.size() > max_bytes) out += "...";
  return out;
}

AgentLog::AgentLog(std::FILE* out, int max_lines_per_minute)
    : out_(out),
      max_lines_per_minute_(max_lines_per_minute),
      window_start_(std::chrono::steady_clock::now()) {}

void AgentLog::info(const std::string& message) {
  std::lock_guard lock(mutex_);
  write_locked(message);
}

void AgentLog::problem(const std::string& message) {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (now - window_start_ >= std::chrono::minutes(1)) {
    window_start_ = now;
    lines_in_window_ = 0;
  }
  if (lines_in_window_ >= max_lines_per_minute_) {
    ++suppressed_;
    ++suppressed_total_;
    return;
  }
  ++lines_in_window_;
  if (suppressed_ > 0) {
    write_locked(message + " (" + std::to_string(suppressed_) + " similar lines not logged before this one)");
    suppressed_ = 0;
    return;
  }
  write_locked(message);
}

long long AgentLog::suppressed() const {
  std::lock_guard lock(mutex_);
  return suppressed_total_;
}

void AgentLog::write_locked(const std::string& message) {
  std::fprintf(out_, "carbonmeter agent: %s\n", message.c_str());
  std::fflush(out_);
}

}  // namespace carbonmeter::agent
