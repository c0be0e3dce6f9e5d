#include "sensors/agent_sensor.hpp"

#include <grp.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <vector>

#include "agent/agent_client.hpp"

namespace carbonmeter {
namespace {

constexpr double kFirstRetryS = 1.0;
constexpr double kLongestRetryS = 30.0;

std::string group_name(gid_t gid) {
  std::vector<char> buffer(16384);
  struct group entry {};
  struct group* found = nullptr;
  if (::getgrgid_r(gid, &entry, buffer.data(), buffer.size(), &found) == 0 && found) return found->gr_name;
  return std::to_string(gid);
}

std::string octal_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

class AgentSensor final : public EnergySensor {
 public:
  AgentSensor(std::unique_ptr<agent::AgentClient> client, std::vector<Channel> channels,
              PerComponent<double> uncertainty)
      : path_(client->path()),
        client_(std::move(client)),
        channels_(std::move(channels)),
        uncertainty_(uncertainty),
        previous_uj_(channels_.size()),
        missing_said_(channels_.size(), false) {}

  std::string method() const override { return "rapl-agent"; }
  std::string kind() const override { return "measured counter"; }
  double relative_uncertainty(Component c) const override { return uncertainty_[c]; }
  const std::vector<Channel>& channels() const override { return channels_; }
  // The agent's counters are 64-bit µJ since it started: they do not wrap.
  void stop() override { client_.reset(); }
  std::vector<std::string> take_notes() override { return std::exchange(notes_, {}); }

  void read(const SampleContext& /*context*/, std::span<ChannelReading> out) override {
    std::fill(out.begin(), out.end(), ChannelReading{});
    auto reading = fetch();
    if (!reading) {
      if (!lost_)
        notes_.push_back("rapl-agent: lost the agent (" + reading.error().message +
                         "): CPU and RAM energy is missing from now until it answers again (retried)");
      lost_ = true;
      return;
    }
    const agent::ReadInfo& now = reading.value();
    const bool restarted = !instance_.empty() && now.instance != instance_;
    if (lost_)
      notes_.push_back(std::string("rapl-agent: the agent at ") + path_ + " answers again" +
                       (restarted ? "; it restarted, so the energy while it was down is missing"
                                  : "; its counters ran on meanwhile, so nothing is missing"));
    else if (restarted)
      notes_.push_back("rapl-agent: the agent at " + path_ +
                       " restarted between two samples: its counters began again at 0 (counted as a reset)");
    lost_ = false;
    std::map<std::pair<std::string, std::string>, std::uint64_t> by_name;
    for (const agent::CounterReading& counter : now.counters)
      by_name[{counter.device, counter.domain}] = counter.energy_uj;
    const bool first = !have_baseline_;
    have_baseline_ = true;
    for (std::size_t i = 0; i < channels_.size(); ++i) {
      auto found = by_name.find({channels_[i].device, channels_[i].domain});
      if (found == by_name.end()) {
        if (!missing_said_[i])
          notes_.push_back("rapl-agent: the agent no longer serves " + channels_[i].device + "/" +
                           channels_[i].domain + ": its energy is missing while it does not");
        missing_said_[i] = true;
        continue;
      }
      missing_said_[i] = false;
      const std::uint64_t value = found->second;
      const std::optional<std::uint64_t> previous = previous_uj_[i];
      previous_uj_[i] = value;
      if (first) continue;  // the baseline
      std::uint64_t delta_uj = 0;
      if (restarted) {
        delta_uj = value;  // all of it came after the agent restarted, i.e. after our last sample
      } else if (!previous) {
        continue;  // a channel seen for the first time: its baseline
      } else if (value >= *previous) {
        delta_uj = value - *previous;
      } else {
        delta_uj = value;  // smaller: a reset, never a negative delta
        notes_.push_back("rapl-agent: counter of " + channels_[i].device + "/" + channels_[i].domain +
                         " went back (reset): that interval counts only what it holds since the reset");
      }
      out[i].energy_j = static_cast<double>(delta_uj) * 1e-6;
    }
    instance_ = now.instance;
  }

 private:
  using Clock = std::chrono::steady_clock;

  Result<std::unique_ptr<agent::AgentClient>> reconnect() {
    const Clock::time_point now = Clock::now();
    if (now < retry_at_) return Error{last_error_};
    auto client = agent::AgentClient::connect(path_);
    if (!client) {
      last_error_ = client.error().message;
      retry_at_ = now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(retry_s_));
      retry_s_ = std::min(retry_s_ * 2, kLongestRetryS);
      return client.error();
    }
    retry_s_ = kFirstRetryS;
    return client;
  }

  Result<agent::ReadInfo> fetch() {
    if (client_) {
      auto read = client_->read();
      if (read) return read;
      client_.reset();  // also an idle connection the agent closed: one new attempt at once
      retry_at_ = Clock::time_point{};
      last_error_ = read.error().message;
    }
    auto client = reconnect();
    if (!client) return client.error();
    client_ = std::move(client).value();
    auto read = client_->read();
    if (!read) {
      client_.reset();
      last_error_ = read.error().message;
    }
    return read;
  }

  std::string path_;
  std::unique_ptr<agent::AgentClient> client_;
  std::vector<Channel> channels_;
  PerComponent<double> uncertainty_;
  std::vector<std::optional<std::uint64_t>> previous_uj_;
  std::vector<bool> missing_said_;
  std::string instance_;
  bool have_baseline_ = false;
  std::vector<std::string> notes_;
  bool lost_ = false;
  Clock::time_point retry_at_{};
  double retry_s_ = kFirstRetryS;
  std::string last_error_;
};

std::string how_to_start() {
  return "where energy_uj and the MSRs are root-only, run `carbonmeter agent --group carbonmeter` as root "
         "(the systemd unit dist/systemd/carbonmeter-agent.service; docs/agent.md), or set " +
         std::string(agent::kSocketPathVariable) + " to its socket";
}

// Why the socket at `path` cannot be used by this user, and how to fix it.
void explain_denied(const std::string& path, SensorStatus& status) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    status.detail =
        "the agent's socket " + path + " cannot be reached by this user (" + std::strerror(errno) + ")";
    status.fix = "make its folder searchable, or ask the administrator for access (docs/agent.md)";
    return;
  }
  const std::string group = group_name(info.st_gid);
  status.detail = "the agent's socket " + path + " (mode " + octal_mode(info.st_mode) + ", group " + group +
                  ") is not accessible to this user";
  if ((info.st_mode & S_IRWXG) == (S_IRGRP | S_IWGRP) && info.st_gid != 0)
    status.fix = "join group '" + group + "': `sudo usermod -aG " + group +
                 " $USER`, then log in again (or `newgrp " + group + "`)";
  else
    status.fix =
        "the agent was started without --group: restart it with `--group carbonmeter` and join that "
        "group (`sudo usermod -aG carbonmeter $USER`, then log in again)";
}

}  // namespace

std::string agent_socket_path() {
  const char* value = std::getenv(agent::kSocketPathVariable);
  return value && *value ? std::string(value) : std::string(agent::kDefaultSocketPath);
}

ProbeOutcome probe_rapl_agent(const RaplDomains& domains) {
  ProbeOutcome outcome;
  outcome.status.method = "rapl-agent";
  outcome.status.components = "cpu, ram";
  const std::string path = agent_socket_path();
  struct stat info {};
  const bool exists = ::lstat(path.c_str(), &info) == 0;
  if (!exists && errno == ENOENT) {
    outcome.status.detail = "no agent socket at " + path;
    outcome.status.fix = how_to_start();
    return outcome;
  }
  struct stat target {};
  if (exists && ::stat(path.c_str(), &target) == 0 && !S_ISSOCK(target.st_mode)) {
    outcome.status.detail = path + " is not a socket";
    outcome.status.fix = "point " + std::string(agent::kSocketPathVariable) + " at the agent's socket";
    return outcome;
  }
  agent::ConnectFailure failure;
  auto client = agent::AgentClient::connect(path, agent::kClientTimeoutS, &failure);
  if (!client) {
    if (failure.error_number == EACCES || failure.error_number == EPERM) {
      explain_denied(path, outcome.status);
    } else if (failure.error_number == ECONNREFUSED) {
      outcome.status.detail = "socket " + path + " exists but no agent answers on it (it stopped)";
      outcome.status.fix = "start the agent again (`sudo systemctl restart carbonmeter-agent`)";
    } else {
      outcome.status.detail = failure.message;
      outcome.status.fix =
          failure.error_number == 0 ? "run the same carbonmeter release as the agent" : how_to_start();
    }
    return outcome;
  }
  const agent::HelloInfo& hello = client.value()->hello();
  std::vector<Channel> channels;
  PerComponent<double> uncertainty;
  std::string detail, served;
  for (const agent::ChannelInfo& channel : hello.channels) {
    const std::string name =
        channel.device +
        (channel.domain == "package" || channel.domain == "psys" ? "" : "/" + channel.domain);
    served += (served.empty() ? "" : ", ") + name;
    if (!domains.wants(channel.domain)) continue;
    // A device/domain twice would be counted twice: the first one stands.
    if (std::any_of(channels.begin(), channels.end(), [&](const Channel& c) {
          return c.device == channel.device && c.domain == channel.domain;
        }))
      continue;
    channels.push_back({channel.component, channel.device, channel.domain, "", ""});
    uncertainty[channel.component] = std::max(uncertainty[channel.component], channel.relative_uncertainty);
    detail += (detail.empty() ? "" : ", ") + name;
  }
  if (channels.empty()) {
    outcome.status.detail =
        "the agent at " + path +
        " serves none of the chosen --rapl-domains (it serves: " + (served.empty() ? "nothing" : served) +
        ")";
    outcome.status.fix = "choose domains it serves with --rapl-domains";
    return outcome;
  }
  outcome.status.found = true;
  outcome.status.detail =
      "agent at " + path + " (pid " + std::to_string(hello.pid) + ", " + hello.method + ") serves " + detail;
  outcome.sensor = std::make_unique<AgentSensor>(std::move(client).value(), std::move(channels), uncertainty);
  return outcome;
}

}  // namespace carbonmeter
