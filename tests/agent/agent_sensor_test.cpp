// The tracker's side: the rapl-agent sensor reads an agent (in this process, on a fake sysfs) and
// turns its cumulative counters into deltas: exact, never negative across a restart, and noted
// once when the agent goes away.
#include "sensors/agent_sensor.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/agent_test_util.hpp"
#include "sensors/sensor_test_util.hpp"
#include "support/fake_root.hpp"

namespace carbonmeter {
namespace {

using testing::FakeRoot;
using ::testing::HasSubstr;
using testing::InProcessAgent;
using testing::read_channels;
using testing::TempDir;

// CARBONMETER_AGENT_SOCKET for the lifetime of the object.
class SocketVariable {
 public:
  explicit SocketVariable(const std::string& path) { ::setenv("CARBONMETER_AGENT_SOCKET", path.c_str(), 1); }
  ~SocketVariable() { ::unsetenv("CARBONMETER_AGENT_SOCKET"); }
};

class AgentSensorTest : public ::testing::Test {
 protected:
  FakeRoot root_{"intel_server_2s"};
  TempDir dir_;
  std::string socket_ = dir_ / "agent.sock";
  SocketVariable variable_{socket_};
};

TEST_F(AgentSensorTest, ReadsExactDeltasOfTheChosenDomains) {
  InProcessAgent agent(socket_);
  ProbeOutcome probe = probe_rapl_agent(RaplDomains{});
  ASSERT_TRUE(probe.status.found) << probe.status.detail;
  EXPECT_THAT(probe.status.detail, HasSubstr("agent at " + socket_));
  EXPECT_THAT(probe.status.detail, HasSubstr("rapl-powercap"));
  EnergySensor& sensor = *probe.sensor;
  EXPECT_EQ(sensor.method(), "rapl-agent");
  EXPECT_EQ(sensor.kind(), "measured counter");
  EXPECT_DOUBLE_EQ(sensor.relative_uncertainty(Component::cpu), 0.05);
  EXPECT_DOUBLE_EQ(sensor.relative_uncertainty(Component::ram), 0.10);
  EXPECT_THAT(testing::channel_names(sensor),
              ::testing::UnorderedElementsAre("package-0/package", "package-0/dram", "package-1/package",
                                              "package-1/dram"));
  EXPECT_EQ(sensor.max_interval_s(), std::numeric_limits<double>::infinity());
  auto first = read_channels(sensor, 0.1);
  EXPECT_EQ(first["package-0/package"], 0.0);  // the baseline
  root_.set_energy_uj("intel-rapl:0", 100'000'000 + 42'000'017);
  root_.set_energy_uj("intel-rapl:1:2", 20'000'000 + 1'500'000);
  auto second = read_channels(sensor, 0.1);
  EXPECT_NEAR(second["package-0/package"], 42.000017, 1e-9);
  EXPECT_NEAR(second["package-1/dram"], 1.5, 1e-9);
  EXPECT_EQ(second["package-1/package"], 0.0);
  EXPECT_TRUE(sensor.take_notes().empty());

  ProbeOutcome psys = probe_rapl_agent(RaplDomains{false, false, true, false, false});
  ASSERT_TRUE(psys.status.found);
  EXPECT_THAT(testing::channel_names(*psys.sensor), ::testing::ElementsAre("psys/psys"));
}

TEST_F(AgentSensorTest, AnAgentRestartIsAResetNeverANegativeDelta) {
  auto agent = std::make_unique<InProcessAgent>(socket_);
  ProbeOutcome probe = probe_rapl_agent(RaplDomains{});
  ASSERT_TRUE(probe.status.found);
  EnergySensor& sensor = *probe.sensor;
  read_channels(sensor, 0.1);
  root_.set_energy_uj("intel-rapl:0", 100'000'000 + 10'000'000);
  EXPECT_NEAR(read_channels(sensor, 0.1)["package-0/package"], 10.0, 1e-9);
  agent.reset();                                                  // stopped between two samples
  root_.set_energy_uj("intel-rapl:0", 100'000'000 + 15'000'000);  // while no agent runs: not seen
  agent = std::make_unique<InProcessAgent>(socket_);              // counters from 0 again
  root_.set_energy_uj("intel-rapl:0", 100'000'000 + 18'000'000);
  auto after = read_channels(sensor, 0.1);
  EXPECT_NEAR(after["package-0/package"], 3.0, 1e-9);  // what the new agent counted
  for (const auto& [name, energy_j] : after) EXPECT_GE(energy_j, 0.0) << name;
  EXPECT_THAT(sensor.take_notes(), ::testing::ElementsAre(HasSubstr("restarted")));
  root_.set_energy_uj("intel-rapl:0", 100'000'000 + 19'000'000);
  EXPECT_NEAR(read_channels(sensor, 0.1)["package-0/package"], 1.0, 1e-9);
}

TEST_F(AgentSensorTest, AnAgentGoneIsNotedOnceAndFoundAgainLater) {
  auto agent = std::make_unique<InProcessAgent>(socket_);
  ProbeOutcome probe = probe_rapl_agent(RaplDomains{});
  ASSERT_TRUE(probe.status.found);
  EnergySensor& sensor = *probe.sensor;
  read_channels(sensor, 0.1);
  root_.set_energy_uj("intel-rapl:0", 100'000'000 + 5'000'000);
  EXPECT_NEAR(read_channels(sensor, 0.1)["package-0/package"], 5.0, 1e-9);
  agent.reset();
  EXPECT_EQ(read_channels(sensor, 0.1)["package-0/package"], 0.0);
  EXPECT_EQ(read_channels(sensor, 0.1)["package-0/package"], 0.0);
  auto notes = sensor.take_notes();
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_THAT(notes[0], HasSubstr("lost the agent"));
  EXPECT_THAT(notes[0], HasSubstr("missing"));
  agent = std::make_unique<InProcessAgent>(socket_);
  root_.set_energy_uj("intel-rapl:0", 100'000'000 + 7'000'000);
  // Reconnection attempts are spaced (1 s, then longer): it comes back within a few seconds.
  double total_j = 0.0;
  ASSERT_TRUE(testing::eventually(
      [&] {
        total_j += read_channels(sensor, 0.1)["package-0/package"];
        return total_j > 0;
      },
      5.0));
  EXPECT_NEAR(total_j, 2.0, 1e-9);
  EXPECT_THAT(sensor.take_notes(), ::testing::ElementsAre(HasSubstr("answers again; it restarted")));
}

TEST_F(AgentSensorTest, ProbeSaysWhyNotAndHowToFix) {
  ProbeOutcome none = probe_rapl_agent(RaplDomains{});
  EXPECT_FALSE(none.status.found);
  EXPECT_EQ(none.status.method, "rapl-agent");
  EXPECT_THAT(none.status.detail, HasSubstr("no agent socket at " + socket_));
  EXPECT_THAT(none.status.fix, HasSubstr("carbonmeter agent"));

  {
    InProcessAgent agent(socket_);
    ProbeOutcome core = probe_rapl_agent(RaplDomains{false, false, false, true, false});
    EXPECT_TRUE(core.status.found);
  }
  // What a killed agent leaves: a socket no one listens on.
  const int stale = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strcpy(address.sun_path, socket_.c_str());
  ASSERT_EQ(::bind(stale, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ::close(stale);
  ProbeOutcome stopped = probe_rapl_agent(RaplDomains{});
  EXPECT_FALSE(stopped.status.found);
  EXPECT_THAT(stopped.status.detail, HasSubstr("no agent answers"));
  EXPECT_THAT(stopped.status.fix, HasSubstr("systemctl restart carbonmeter-agent"));
  std::filesystem::remove(socket_);

  testing::write_file(socket_, "not a socket");
  ProbeOutcome file = probe_rapl_agent(RaplDomains{});
  EXPECT_FALSE(file.status.found);
  EXPECT_THAT(file.status.detail, HasSubstr("is not a socket"));
}

TEST(AgentSensorPath, DefaultAndOverride) {
  ::unsetenv("CARBONMETER_AGENT_SOCKET");
  EXPECT_EQ(agent_socket_path(), "/run/carbonmeter/agent.sock");
  ::setenv("CARBONMETER_AGENT_SOCKET", "/tmp/x.sock", 1);
  EXPECT_EQ(agent_socket_path(), "/tmp/x.sock");
  ::unsetenv("CARBONMETER_AGENT_SOCKET");
}

}  // namespace
}  // namespace carbonmeter
