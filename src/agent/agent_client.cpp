#include "agent/agent_client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include "agent/response_reader.hpp"

namespace carbonmeter::agent {
namespace {

Error failed(ConnectFailure* failure, int error_number, std::string message) {
  if (failure) *failure = {error_number, message};
  return Error{std::move(message)};
}

}  // namespace

Result<std::unique_ptr<AgentClient>> AgentClient::connect(const std::string& path, double timeout_s,
                                                          ConnectFailure* failure) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof address.sun_path)
    return failed(failure, ENAMETOOLONG, "agent socket path '" + path + "' is empty or too long");
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return failed(failure, errno, std::string("cannot create a Unix socket: ") + std::strerror(errno));
  // Timeouts on connect (a full backlog), send and receive.
  timeval timeout{};
  timeout.tv_sec = static_cast<time_t>(timeout_s);
  timeout.tv_usec = static_cast<suseconds_t>((timeout_s - std::floor(timeout_s)) * 1e6);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::unique_ptr<AgentClient> client(new AgentClient(fd, path));
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    const int error_number = errno;
    return failed(failure, error_number, "cannot connect to " + path + ": " + std::strerror(error_number));
  }
  auto answer = client->exchange("HELLO " + std::to_string(kProtocolVersion) + "\n");
  if (!answer) return failed(failure, 0, answer.error().message);
  auto hello = parse_hello_response(answer.value());
  if (!hello) return failed(failure, 0, path + ": " + hello.error().message);
  client->hello_ = std::move(hello).value();
  return client;
}

AgentClient::~AgentClient() {
  if (fd_ >= 0) ::close(fd_);
}

Result<ReadInfo> AgentClient::read() {
  auto answer = exchange("READ\n");
  if (!answer) return answer.error();
  auto read = parse_read_response(answer.value());
  if (!read) return Error{path_ + ": " + read.error().message};
  return read;
}

Result<std::string> AgentClient::exchange(std::string_view request) {
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error{"cannot send to the agent at " + path_ + ": " +
                   (errno == EAGAIN ? std::string("timed out") : std::strerror(errno))};
    }
    sent += static_cast<std::size_t>(n);
  }
  return read_line();
}

Result<std::string> AgentClient::read_line() {
  for (;;) {
    if (const std::size_t end = buffer_.find('\n'); end != std::string::npos) {
      std::string line = buffer_.substr(0, end);
      buffer_.erase(0, end + 1);
      return line;
    }
    if (buffer_.size() >= kMaxResponseBytes)
      return Error{"the agent at " + path_ + " sent an overlong answer"};
    char chunk[4096];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return Error{"no answer from the agent at " + path_ + ": " +
                   (errno == EAGAIN ? std::string("timed out") : std::strerror(errno))};
    if (n == 0) return Error{"the agent at " + path_ + " closed the connection"};
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

}  // namespace carbonmeter::agent
