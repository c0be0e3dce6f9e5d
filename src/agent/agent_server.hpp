// The agent's server: one thread, poll() over the listening socket and every client, so that a
// client that sends nothing, sends slowly or sends garbage holds up no one. Each connection has
// bounded buffers and deadlines; a malformed request is answered with an error, logged with the
// client's credentials, and its connection dropped.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/agent_counters.hpp"
#include "agent/agent_log.hpp"
#include "agent/agent_socket.hpp"
#include "agent/protocol.hpp"

namespace carbonmeter::agent {

struct ServerLimits {
  // From a request's first byte to its newline, and from connecting to the first request.
  double request_timeout_s = 2.0;
  double idle_timeout_s = 300.0;  // between requests after HELLO (clients reconnect when they need to)
  double write_timeout_s = 5.0;   // an answer the client does not read
  std::size_t max_clients = 256;
  // Per user (SO_PEERCRED uid), so that one user's idle connections cannot lock the others out.
  std::size_t max_clients_per_user = 16;
  std::size_t max_pending_output = 64 * 1024;  // a client's unread answers; beyond it, it is not read
  // A READ samples the hardware afresh unless the last sample is younger than this: however fast
  // clients ask, the counters are not read more often (docs/agent.md, "Security").
  double min_sample_age_s = 0.01;
};

struct ServerStats {
  std::uint64_t connections = 0;
  std::uint64_t requests = 0;
  std::uint64_t dropped = 0;  // malformed or refused requests
  std::uint64_t timed_out = 0;
  std::uint64_t refused_busy = 0;
};

class AgentServer {
 public:
  AgentServer(const ListeningSocket& socket, AgentCounters& counters, AgentLog& log,
              ServerLimits limits = {});
  ~AgentServer();
  AgentServer(const AgentServer&) = delete;
  AgentServer& operator=(const AgentServer&) = delete;

  // Serves until stop_fd is readable (a signalfd, an eventfd, a pipe), then closes every client.
  void serve(int stop_fd);
  const ServerStats& stats() const { return stats_; }
  const HelloInfo& hello() const { return hello_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Client {
    int fd = -1;
    PeerCredentials peer;
    std::string in;
    std::string out;
    std::size_t out_sent = 0;
    bool hello_done = false;
    bool closing = false;      // close once `out` is sent
    bool peer_closed = false;  // the client shut its side: answer what it sent, then close
    bool gone = false;
    Clock::time_point connected;
    Clock::time_point last_request;
    Clock::time_point partial_since;  // when `in` started holding part of a request
    Clock::time_point output_since;   // when `out` started holding unsent bytes
  };

  void accept_clients();
  void on_readable(Client& client);
  // Answers what `in` holds and sends what it can, as long as the client reads; closes the
  // connection once a dropped request's error is sent, or the client has said all it will.
  void process(Client& client);
  // Parses and answers requests while the unsent output is under its limit.
  void handle_input(Client& client);
  void answer(Client& client, const std::string& response);
  // Logs why, with the client's credentials and what it sent; answers the error; closes after it.
  void drop(Client& client, const std::string& why, std::string_view sent);
  // Sends what it can; true when nothing is left to send.
  bool flush(Client& client);
  Clock::time_point deadline(const Client& client) const;
  void expire(Client& client, Clock::time_point now);
  void close_client(Client& client);

  const ListeningSocket& socket_;
  AgentCounters& counters_;
  AgentLog& log_;
  ServerLimits limits_;
  HelloInfo hello_;
  std::string hello_line_;
  std::vector<Client> clients_;
  ServerStats stats_;
};

}  // namespace carbonmeter::agent
