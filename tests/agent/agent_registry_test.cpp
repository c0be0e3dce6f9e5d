// The registry falls back to the agent when this user can read no RAPL counter, says so, and
// lists the agent in `hardware` found or not, with why and how to fix.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "agent/agent_test_util.hpp"
#include "sensors/registry.hpp"
#include "support/fake_root.hpp"

namespace carbonmeter {
namespace {

using testing::FakeRoot;
using ::testing::HasSubstr;
using testing::InProcessAgent;
using testing::TempDir;

class SocketVariable {
 public:
  explicit SocketVariable(const std::string& path) { ::setenv("CARBONMETER_AGENT_SOCKET", path.c_str(), 1); }
  ~SocketVariable() { ::unsetenv("CARBONMETER_AGENT_SOCKET"); }
};

// The tracker's own view: powercap zones whose energy_uj it cannot read, and no MSR device.
void remove_energy_files(const FakeRoot& root) {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root.sys("class/powercap")))
    if (entry.path().filename() == "energy_uj") std::filesystem::remove(entry.path());
}

const SensorStatus* status_of(const SensorSet& set, const std::string& method) {
  for (const SensorStatus& status : set.statuses)
    if (status.method == method) return &status;
  return nullptr;
}

TEST(AgentRegistry, UsedWhenNoCounterIsReadableHere) {
  FakeRoot agent_root("intel_server_2s");
  TempDir dir;
  SocketVariable variable(dir / "agent.sock");
  InProcessAgent agent(dir / "agent.sock");  // reads agent_root
  FakeRoot tracker_root("intel_server_2s");  // from here on, what the tracker sees
  remove_energy_files(tracker_root);
  auto set = probe_sensors({"", false, ""});
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set.value().methods[Component::cpu].method, "rapl-agent");
  EXPECT_EQ(set.value().methods[Component::cpu].kind, "measured counter");
  EXPECT_DOUBLE_EQ(set.value().methods[Component::cpu].relative_uncertainty, 0.05);
  EXPECT_EQ(set.value().methods[Component::ram].method, "rapl-agent");
  ASSERT_EQ(set.value().sensors.size(), 1u);
  EXPECT_THAT(set.value().notes, ::testing::Contains(::testing::AllOf(
                                     HasSubstr("reading RAPL for cpu and ram through the carbonmeter agent"),
                                     HasSubstr("this user cannot read the counters itself"))));
  const SensorStatus* status = status_of(set.value(), "rapl-agent");
  ASSERT_NE(status, nullptr);
  EXPECT_TRUE(status->found);
}

TEST(AgentRegistry, NotProbedWhenTheCountersAreReadable) {
  FakeRoot root("intel_server_2s");
  TempDir dir;
  SocketVariable variable(dir / "agent.sock");
  InProcessAgent agent(dir / "agent.sock");
  auto set = probe_sensors({"", false, ""});
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set.value().methods[Component::cpu].method, "rapl-powercap");
  EXPECT_EQ(status_of(set.value(), "rapl-agent"), nullptr);
  // `hardware` (probe_all) lists it, found, but uses powercap.
  auto all = probe_sensors({"", true, ""});
  ASSERT_TRUE(all.ok());
  const SensorStatus* status = status_of(all.value(), "rapl-agent");
  ASSERT_NE(status, nullptr);
  EXPECT_TRUE(status->found);
  EXPECT_EQ(all.value().methods[Component::cpu].method, "rapl-powercap");
}

TEST(AgentRegistry, HardwareListsAMissingAgentWithItsFix) {
  FakeRoot root("intel_server_1s");
  TempDir dir;
  SocketVariable variable(dir / "agent.sock");
  auto all = probe_sensors({"", true, ""});
  ASSERT_TRUE(all.ok());
  const SensorStatus* status = status_of(all.value(), "rapl-agent");
  ASSERT_NE(status, nullptr);
  EXPECT_FALSE(status->found);
  EXPECT_THAT(status->detail, HasSubstr("no agent socket"));
  EXPECT_THAT(status->fix, HasSubstr("carbonmeter agent"));
}

TEST(AgentRegistry, AStoppedAgentIsNamedWhenFallingBackToTheEstimate) {
  FakeRoot root("intel_server_2s");
  remove_energy_files(root);
  TempDir dir;
  SocketVariable variable(dir / "agent.sock");
  const int stale = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strcpy(address.sun_path, (dir / "agent.sock").c_str());
  ASSERT_EQ(::bind(stale, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ::close(stale);  // what a killed agent leaves: a socket no one listens on
  auto set = probe_sensors({"", false, ""});
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set.value().methods[Component::cpu].method, "cpu-estimate");
  EXPECT_THAT(set.value().notes,
              ::testing::Contains(::testing::AllOf(HasSubstr("the carbonmeter agent cannot be used"),
                                                   HasSubstr("no agent answers"))));
}

}  // namespace
}  // namespace carbonmeter
