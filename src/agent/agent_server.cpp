#include "agent/agent_server.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "agent/request_parser.hpp"
#include "agent/response_writer.hpp"
#include "carbonmeter/version.hpp"

namespace carbonmeter::agent {
namespace {

constexpr std::size_t kReadChunk = 512;
constexpr int kMaxAcceptsPerRound = 64;

std::chrono::steady_clock::duration seconds(double value) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(value));
}

std::string seconds_text(double value) { return fmt::format("{:g} s", value); }

}  // namespace

AgentServer::AgentServer(const ListeningSocket& socket, AgentCounters& counters, AgentLog& log,
                         ServerLimits limits)
    : socket_(socket), counters_(counters), log_(log), limits_(limits) {
  hello_.protocol = kProtocolVersion;
  hello_.agent = std::string("carbonmeter ") + kVersion;
  hello_.instance = counters_.instance();
  hello_.pid = static_cast<long>(::getpid());
  hello_.method = counters_.method();
  hello_.sample_period_s = counters_.sample_period_s();
  hello_.channels = counters_.channels();
  hello_line_ = hello_response(hello_);
}

AgentServer::~AgentServer() {
  for (Client& client : clients_) close_client(client);
}

void AgentServer::serve(int stop_fd) {
  std::vector<pollfd> fds;
  for (;;) {
    fds.clear();
    fds.push_back({stop_fd, POLLIN, 0});
    fds.push_back({socket_.fd(), POLLIN, 0});
    const Clock::time_point now = Clock::now();
    Clock::time_point next = Clock::time_point::max();
    for (const Client& client : clients_) {
      short events = 0;
      const std::size_t pending = client.out.size() - client.out_sent;
      if (!client.closing && !client.peer_closed && pending < limits_.max_pending_output) events |= POLLIN;
      if (pending > 0) events |= POLLOUT;
      fds.push_back({client.fd, events, 0});
      next = std::min(next, deadline(client));
    }
    int timeout_ms = -1;
    if (next != Clock::time_point::max())
      timeout_ms = static_cast<int>(std::clamp<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count() + 1, 0, 60'000));
    const int ready = ::poll(fds.data(), fds.size(), timeout_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      log_.info(std::string("poll failed: ") + std::strerror(errno) + "; stopping");
      break;
    }
    if (fds[0].revents != 0) break;
    // Clients first (fds[2 + i] is clients_[i]), then new ones, which append to clients_.
    for (std::size_t i = 0; i < clients_.size(); ++i) {
      Client& client = clients_[i];
      const short revents = fds[2 + i].revents;
      if (revents & POLLIN) on_readable(client);
      if (!client.gone && (revents & POLLOUT)) process(client);
      // Both directions shut, or an error: nothing more can be sent.
      if (!client.gone && (revents & (POLLHUP | POLLERR))) close_client(client);
    }
    const Clock::time_point after = Clock::now();
    for (Client& client : clients_)
      if (!client.gone) expire(client, after);
    clients_.erase(std::remove_if(clients_.begin(), clients_.end(), [](const Client& c) { return c.gone; }),
                   clients_.end());
    if (fds[1].revents & POLLIN) accept_clients();
  }
  for (Client& client : clients_) close_client(client);
  clients_.clear();
}

void AgentServer::accept_clients() {
  for (int round = 0; round < kMaxAcceptsPerRound; ++round) {
    const int fd = ::accept4(socket_.fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED)
        log_.problem(std::string("cannot accept a client: ") + std::strerror(errno));
      return;
    }
    ++stats_.connections;
    Client client;
    client.fd = fd;
    client.peer = peer_credentials(fd);
    client.connected = Clock::now();
    client.last_request = client.connected;
    const auto same_user =
        static_cast<std::size_t>(std::count_if(clients_.begin(), clients_.end(), [&](const Client& other) {
          return other.peer.known && client.peer.known && other.peer.uid == client.peer.uid;
        }));
    if (same_user >= limits_.max_clients_per_user) {
      ++stats_.refused_busy;
      const std::string refusal =
          error_response("busy: " + std::to_string(same_user) +
                         " connections of this user already; close some and try again");
      [[maybe_unused]] const ssize_t sent =
          ::send(fd, refusal.data(), refusal.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      log_.problem("refused a client (" + describe_peer(client.peer) + "): its user holds " +
                   std::to_string(same_user) + " connections");
      ::close(fd);
      continue;
    }
    if (clients_.size() >= limits_.max_clients) {
      ++stats_.refused_busy;
      const std::string refusal =
          error_response("busy: " + std::to_string(clients_.size()) + " clients connected; try again later");
      [[maybe_unused]] const ssize_t sent =
          ::send(fd, refusal.data(), refusal.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      log_.problem("refused a client (" + describe_peer(client.peer) + "): already " +
                   std::to_string(clients_.size()) + " connected");
      ::close(fd);
      continue;
    }
    clients_.push_back(std::move(client));
  }
}

void AgentServer::on_readable(Client& client) {
  char buffer[kReadChunk];
  const ssize_t got = ::recv(client.fd, buffer, sizeof buffer, MSG_DONTWAIT);
  if (got < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) close_client(client);
    return;
  }
  if (got == 0) {
    // The client shut its side: answer the whole requests it sent, then close.
    client.peer_closed = true;
    handle_input(client);
    if (!client.closing && !client.in.empty() && parse_request(client.in).status == ParseStatus::incomplete) {
      const std::string partial = std::exchange(client.in, {});
      drop(client, "the client closed its side in the middle of a request", partial);
    }
    process(client);
    return;
  }
  if (client.in.empty()) client.partial_since = Clock::now();
  client.in.append(buffer, static_cast<std::size_t>(got));
  process(client);
}

void AgentServer::process(Client& client) {
  for (;;) {
    handle_input(client);
    if (client.gone || !flush(client)) return;  // the rest when the client reads
    if (client.closing) {
      close_client(client);
      return;
    }
    const bool more = !client.in.empty() && parse_request(client.in).status != ParseStatus::incomplete;
    if (!more) {
      if (client.peer_closed) close_client(client);
      return;
    }
  }
}

void AgentServer::handle_input(Client& client) {
  while (!client.closing && !client.gone && !client.in.empty() &&
         client.out.size() - client.out_sent < limits_.max_pending_output) {
    const ParseOutcome outcome = parse_request(client.in);
    if (outcome.status == ParseStatus::incomplete) return;
    if (outcome.status == ParseStatus::error) {
      const std::string sent = std::exchange(client.in, {});
      drop(client, "malformed request (" + outcome.error + ")", sent);
      return;
    }
    const std::string text = client.in.substr(0, outcome.consumed);
    client.in.erase(0, outcome.consumed);
    client.partial_since = Clock::now();
    client.last_request = client.partial_since;
    ++stats_.requests;
    const Request& request = outcome.request;
    if (request.verb == Verb::hello) {
      if (request.version != kProtocolVersion) {
        drop(client,
             "unsupported protocol version " + std::to_string(request.version) + ": this agent speaks " +
                 std::to_string(kProtocolVersion),
             text);
        return;
      }
      client.hello_done = true;
      answer(client, hello_line_);
    } else if (!client.hello_done) {
      drop(client, "READ before HELLO: send HELLO " + std::to_string(kProtocolVersion) + " first", text);
      return;
    } else {
      answer(client, read_response(counters_.sample(limits_.min_sample_age_s)));
    }
  }
}

void AgentServer::answer(Client& client, const std::string& response) {
  if (client.out.size() == client.out_sent) {
    client.out.clear();
    client.out_sent = 0;
    client.output_since = Clock::now();
  }
  client.out += response;
}

void AgentServer::drop(Client& client, const std::string& why, std::string_view sent) {
  ++stats_.dropped;
  log_.problem("dropped a request from " + describe_peer(client.peer) + ": " + why + "; it sent \"" +
               printable_excerpt(sent) + "\"");
  client.in.clear();
  client.closing = true;
  answer(client, error_response(why));
}

bool AgentServer::flush(Client& client) {
  while (client.out_sent < client.out.size()) {
    const ssize_t sent = ::send(client.fd, client.out.data() + client.out_sent,
                                client.out.size() - client.out_sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) close_client(client);  // gone: EPIPE, ECONNRESET
      return false;
    }
    client.out_sent += static_cast<std::size_t>(sent);
  }
  client.out.clear();
  client.out_sent = 0;
  return true;
}

AgentServer::Clock::time_point AgentServer::deadline(const Client& client) const {
  if (client.out.size() > client.out_sent) return client.output_since + seconds(limits_.write_timeout_s);
  if (!client.in.empty()) return client.partial_since + seconds(limits_.request_timeout_s);
  if (!client.hello_done) return client.connected + seconds(limits_.request_timeout_s);
  return client.last_request + seconds(limits_.idle_timeout_s);
}

void AgentServer::expire(Client& client, Clock::time_point now) {
  if (now < deadline(client)) return;
  if (client.out.size() > client.out_sent) {
    ++stats_.timed_out;
    log_.problem("closed the connection of " + describe_peer(client.peer) +
                 ": it has not read its answer for " + seconds_text(limits_.write_timeout_s));
  } else if (!client.in.empty()) {
    ++stats_.timed_out;
    ++stats_.dropped;
    log_.problem("dropped a request from " + describe_peer(client.peer) + ": incomplete after " +
                 seconds_text(limits_.request_timeout_s) + "; it sent \"" + printable_excerpt(client.in) +
                 "\"");
  } else if (!client.hello_done) {
    ++stats_.timed_out;
    log_.problem("closed the connection of " + describe_peer(client.peer) + ": no request within " +
                 seconds_text(limits_.request_timeout_s) + " of connecting");
  }
  // A client idle after HELLO is closed silently: it reconnects when it needs to.
  close_client(client);
}

void AgentServer::close_client(Client& client) {
  if (client.gone) return;
  ::close(client.fd);
  client.fd = -1;
  client.gone = true;
}

}  // namespace carbonmeter::agent
