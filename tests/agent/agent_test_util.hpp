// The agent's server run in the test process (on a fake sysfs), and raw socket clients, for tests.
#pragma once

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "agent/agent_counters.hpp"
#include "agent/agent_log.hpp"
#include "agent/agent_server.hpp"
#include "agent/agent_socket.hpp"
#include "agent/rapl_source.hpp"
#include "support/run_cli.hpp"

namespace carbonmeter::testing {

// A folder of its own under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/cm-agent-XXXXXX";
    if (!::mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The server's limits, with every READ sampling afresh: a test that advances a fake counter and
// reads at once sees the new value.
inline agent::ServerLimits fresh_limits() {
  agent::ServerLimits limits;
  limits.min_sample_age_s = 0.0;
  return limits;
}

// The agent's counters, socket and server on a thread of this process, reading the fake sysfs that
// CARBONMETER_SYSFS_ROOT points at when it is made. Its log goes to a file.
class InProcessAgent {
 public:
  explicit InProcessAgent(const std::string& socket_path, agent::ServerLimits limits = fresh_limits(),
                          std::optional<gid_t> group = std::nullopt)
      : log_path_(socket_path + ".log") {
    log_file_ = std::fopen(log_path_.c_str(), "w");
    log_ = std::make_unique<agent::AgentLog>(log_file_);
    auto source = agent::probe_rapl_source();
    if (!source) throw std::runtime_error(source.error().message);
    counters_ = std::make_unique<agent::AgentCounters>(std::move(source.value().sensor));
    auto socket = agent::ListeningSocket::create(socket_path, group);
    if (!socket) throw std::runtime_error(socket.error().message);
    socket_ = std::make_unique<agent::ListeningSocket>(std::move(socket).value());
    server_ = std::make_unique<agent::AgentServer>(*socket_, *counters_, *log_, limits);
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
    counters_->start();
    thread_ = std::thread([this] { server_->serve(stop_fd_); });
  }
  ~InProcessAgent() {
    stop();
    server_.reset();
  }
  InProcessAgent(const InProcessAgent&) = delete;
  InProcessAgent& operator=(const InProcessAgent&) = delete;

  void stop() {
    if (!thread_.joinable()) return;
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t written = ::write(stop_fd_, &one, sizeof one);
    thread_.join();
    counters_->stop();
    socket_.reset();  // removes the socket file; the server (its stats) stays until destruction
    ::close(stop_fd_);
    std::fclose(log_file_);
    log_file_ = nullptr;
  }
  std::string log() const {
    if (log_file_) std::fflush(log_file_);
    return slurp(log_path_);
  }
  const agent::HelloInfo& hello() const { return server_->hello(); }
  const agent::ServerStats& stats() const { return server_->stats(); }  // after stop()

 private:
  std::string log_path_;
  std::FILE* log_file_ = nullptr;
  std::unique_ptr<agent::AgentLog> log_;
  std::unique_ptr<agent::AgentCounters> counters_;
  std::unique_ptr<agent::ListeningSocket> socket_;
  std::unique_ptr<agent::AgentServer> server_;
  int stop_fd_ = -1;
  std::thread thread_;
};

// A raw connection to a socket: send bytes, read lines, with a receive timeout.
class RawClient {
 public:
  explicit RawClient(const std::string& path, double timeout_s = 3.0) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    timeval timeout{
        static_cast<time_t>(timeout_s),
        static_cast<suseconds_t>((timeout_s - static_cast<double>(static_cast<time_t>(timeout_s))) * 1e6)};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    connect_errno_ = connected_ ? 0 : errno;
  }
  ~RawClient() { ::close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }
  int connect_errno() const { return connect_errno_; }
  int fd() const { return fd_; }
  bool send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }
  // The next line without its '\n'; nullopt at EOF, on error or timeout.
  std::optional<std::string> line() {
    for (;;) {
      if (auto end = buffer_.find('\n'); end != std::string::npos) {
        std::string out = buffer_.substr(0, end);
        buffer_.erase(0, end + 1);
        return out;
      }
      char chunk[4096];
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }
  // True when the agent closed the connection (EOF) within the timeout.
  bool closed_by_peer() {
    char byte = 0;
    return ::recv(fd_, &byte, 1, 0) == 0;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  int connect_errno_ = 0;
  std::string buffer_;
};

// Waits up to timeout_s for `condition`.
template <class Condition>
bool eventually(Condition condition, double timeout_s = 5.0) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

}  // namespace carbonmeter::testing
