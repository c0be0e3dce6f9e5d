// carbonmeter agent: a small privileged daemon that reads RAPL (powercap, else the MSRs) and serves
// the counters read-only on a Unix socket, for trackers that cannot read them (docs/agent.md).
#include <fmt/format.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "agent/agent_counters.hpp"
#include "agent/agent_log.hpp"
#include "agent/agent_server.hpp"
#include "agent/agent_socket.hpp"
#include "agent/protocol.hpp"
#include "agent/rapl_source.hpp"
#include "cli/commands.hpp"

namespace carbonmeter::cli {
namespace {

struct AgentOptions {
  std::string socket_path = agent::kDefaultSocketPath;
  std::string group;
};

std::string channel_list(const std::vector<agent::ChannelInfo>& channels) {
  std::string out;
  for (const agent::ChannelInfo& channel : channels)
    out += (out.empty() ? "" : ", ") + channel.device +
           (channel.domain == "package" || channel.domain == "psys" ? "" : "/" + channel.domain);
  return out;
}

int run_agent(const AgentOptions& options) {
  std::optional<gid_t> group;
  if (!options.group.empty()) {
    auto gid = agent::resolve_group(options.group);
    if (!gid) throw UsageError("agent: " + gid.error().message);
    group = gid.value();
  }
  agent::AgentLog log;
  auto source = agent::probe_rapl_source();
  if (!source)
    throw FatalError(
        "agent: " + source.error().message +
        ". The agent must run as root (or with CAP_DAC_READ_SEARCH for powercap, CAP_SYS_RAWIO for "
        "the MSRs) on a machine with RAPL");
  for (const std::string& note : source.value().notes) log.info("note: " + note);

  // The stop signals are blocked in every thread (the sampling thread starts below) and read from
  // a signalfd by the server's poll loop.
  const sigset_t stop_signals = block_stop_signals();
  std::signal(SIGPIPE, SIG_IGN);
  const int stop_fd = ::signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
  if (stop_fd < 0) throw FatalError(std::string("agent: cannot wait for signals: ") + std::strerror(errno));
  struct CloseFd {
    int fd;
    ~CloseFd() { ::close(fd); }
  } close_stop_fd{stop_fd};

  agent::AgentCounters counters(std::move(source.value().sensor),
                                [&log](const std::string& note) { log.info("note: " + note); });
  auto socket = agent::ListeningSocket::create(options.socket_path, group);
  if (!socket) throw FatalError("agent: " + socket.error().message);
  const agent::ListeningSocket& listening = socket.value();
  if (listening.replaced_stale())
    log.info("removed the stale socket " + listening.path() + " of an earlier agent");
  counters.start();
  agent::AgentServer server(listening, counters, log);
  log.info("serving " + counters.method() + " counters (" + channel_list(counters.channels()) + ") on " +
           listening.path() + ", mode " + (group ? "0660, group " + options.group : std::string("0600")) +
           ", protocol " + std::to_string(agent::kProtocolVersion) + ", pid " + std::to_string(::getpid()) +
           fmt::format(", sampled every {:.3g} s", counters.sample_period_s()));
  if (!group)
    log.info("note: no --group: only this agent's user (uid " + std::to_string(::getuid()) +
             ") can connect; give --group G to let the members of group G read the counters");
  server.serve(stop_fd);

  signalfd_siginfo signal_info{};
  const bool got_signal = ::read(stop_fd, &signal_info, sizeof signal_info) == sizeof signal_info;
  counters.stop();
  const agent::ServerStats& stats = server.stats();
  const std::string signal_name =
      got_signal ? fmt::format(" ({})", ::strsignal(static_cast<int>(signal_info.ssi_signo))) : "";
  log.info(fmt::format("stopped{}: {} connection{}, {} request{}, {} dropped; removing {}", signal_name,
                       stats.connections, stats.connections == 1 ? "" : "s", stats.requests,
                       stats.requests == 1 ? "" : "s", stats.dropped, listening.path()));
  return got_signal ? 0 : 1;
}

}  // namespace

void add_agent_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<AgentOptions>();
  CLI::App* cmd = app.add_subcommand(
      "agent",
      "Serve the RAPL counters read-only on a Unix socket, for trackers that cannot read them (run as root; "
      "docs/agent.md)");
  cmd->add_option("--socket", options->socket_path, "The socket to create")
      ->capture_default_str()
      ->type_name("PATH");
  cmd->add_option("--group", options->group,
                  "Give the socket to this group with mode 0660 (default: mode 0600, the agent's user only)")
      ->type_name("G");
  cmd->callback([options, &exit_code] { exit_code = run_agent(*options); });
}

}  // namespace carbonmeter::cli
