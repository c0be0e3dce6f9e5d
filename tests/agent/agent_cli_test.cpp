// `carbonmeter agent` run as a daemon would be, on a fake sysfs, and real trackers using it: the
// tracker's own sysfs has no readable energy_uj, the agent's has.
#include <gmock/gmock.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "agent/agent_test_util.hpp"
#include "support/fake_root.hpp"
#include "support/process_guard.hpp"
#include "support/run_cli.hpp"

namespace carbonmeter {
namespace {

using testing::eventually;
using testing::FakeRoot;
using ::testing::HasSubstr;
using testing::ProcessGuard;
using testing::RawClient;
using testing::slurp;
using testing::TempDir;

constexpr const char* kSetpriv = "/usr/bin/setpriv";

testing::EnvChanges root_env(const FakeRoot& root) {
  testing::EnvChanges env = testing::hermetic_cli_env();
  env["CARBONMETER_SYSFS_ROOT"] = root.path() + "/sys";
  env["CARBONMETER_DEV_ROOT"] = root.path() + "/dev";
  env["CARBONMETER_PROCFS_ROOT"] = root.path() + "/proc";
  return env;
}

// `carbonmeter agent --socket PATH ARGS...` reading `root`, ready when it answers HELLO.
class AgentProcess {
 public:
  AgentProcess(const FakeRoot& root, const std::string& socket, const std::vector<std::string>& args = {})
      : socket_(socket) {
    std::vector<std::string> argv = {CARBONMETER_CLI_PATH, "agent", "--socket", socket};
    argv.insert(argv.end(), args.begin(), args.end());
    process_ = std::make_unique<ProcessGuard>(argv, root_env(root));
  }
  bool ready() {
    return eventually([&] {
             if (!process_->running()) return true;
             RawClient client(socket_, 1.0);
             return client.connected() && client.send("HELLO 1\n") && client.line().has_value();
           }) &&
           process_->running();
  }
  ProcessGuard& process() { return *process_; }

 private:
  std::string socket_;
  std::unique_ptr<ProcessGuard> process_;
};

void remove_energy_files(const FakeRoot& root) {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root.sys("class/powercap")))
    if (entry.path().filename() == "energy_uj") std::filesystem::remove(entry.path());
}

// Overwrites a fake counter in place (as the fake root does), from a shell command.
std::string shell_set(const FakeRoot& root, const std::string& zone, std::uint64_t value) {
  return "printf '%s\\n' " + std::to_string(value) + " 1<>" + root.zone(zone) + "/energy_uj";
}

struct Tracker {
  FakeRoot agent_root{"intel_server_2s"};
  FakeRoot tracker_root{"intel_server_2s", false};  // the tracker's view: nothing readable
  TempDir dir;
  std::string socket = dir / "agent.sock";
  Tracker() { remove_energy_files(tracker_root); }
  testing::EnvChanges tracker_env() const {
    return {{"CARBONMETER_SYSFS_ROOT", tracker_root.path() + "/sys"},
            {"CARBONMETER_DEV_ROOT", tracker_root.path() + "/dev"},
            {"CARBONMETER_AGENT_SOCKET", socket}};
  }
};

TEST(AgentCli, RunThroughTheAgentReportsTheExactEnergy) {
  Tracker setup;
  AgentProcess agent(setup.agent_root, setup.socket, {"--group", "0"});
  ASSERT_TRUE(agent.ready()) << agent.process().err();
  const std::string report_path = setup.dir / "report.json";
  // The measured command itself advances the agent's counters: +42 J package-0, +28.5 J its dram.
  const std::string command = "sleep 0.1; " + shell_set(setup.agent_root, "intel-rapl:0", 142'000'000) +
                              "; " + shell_set(setup.agent_root, "intel-rapl:0:2", 48'500'000) +
                              "; sleep 0.2";
  auto outcome =
      testing::run_carbonmeter({"run", "--scope", "machine", "--interval", "0.05", "--output-dir",
                                setup.dir.path(), "--json", report_path, "--", "sh", "-c", command},
                               "/tmp", nullptr, setup.tracker_env());
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_THAT(outcome.err, HasSubstr("rapl-agent (measured counter"));
  auto report = nlohmann::json::parse(slurp(report_path));
  EXPECT_EQ(report["method"]["cpu"], "rapl-agent");
  EXPECT_EQ(report["method"]["ram"], "rapl-agent");
  EXPECT_NEAR(report["energy_j"]["cpu"].get<double>(), 42.0, 1e-6);
  EXPECT_NEAR(report["energy_j"]["ram"].get<double>(), 28.5, 1e-6);
  EXPECT_THAT(report["notes"].dump(), HasSubstr("through the carbonmeter agent"));
}

TEST(AgentCli, AgentKilledMidRunTheRunCompletesWithTheEnergyUpToThen) {
  Tracker setup;
  AgentProcess agent(setup.agent_root, setup.socket);
  ASSERT_TRUE(agent.ready()) << agent.process().err();
  const std::string report_path = setup.dir / "report.json";
  const std::string command = "sleep 0.1; " + shell_set(setup.agent_root, "intel-rapl:0", 142'000'000) +
                              "; sleep 0.4; kill -KILL " + std::to_string(agent.process().pid()) +
                              "; sleep 0.1; " + shell_set(setup.agent_root, "intel-rapl:0", 200'000'000) +
                              "; sleep 0.3";
  auto outcome =
      testing::run_carbonmeter({"run", "--scope", "machine", "--interval", "0.05", "--output-dir",
                                setup.dir.path(), "--json", report_path, "--", "sh", "-c", command},
                               "/tmp", nullptr, setup.tracker_env());
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_EQ(agent.process().wait(1.0), 128 + SIGKILL);
  auto report = nlohmann::json::parse(slurp(report_path));
  EXPECT_EQ(report["method"]["cpu"], "rapl-agent");
  EXPECT_NEAR(report["energy_j"]["cpu"].get<double>(), 42.0, 1e-6);  // what it counted before it died
  const std::string notes = report["notes"].dump();
  EXPECT_THAT(notes, HasSubstr("lost the agent"));
  EXPECT_EQ(notes.find("lost the agent"), notes.rfind("lost the agent"));  // said once
}

TEST(AgentCli, MalformedRequestIsDroppedAndLoggedAndTheAgentKeepsServing) {
  Tracker setup;
  AgentProcess agent(setup.agent_root, setup.socket);
  ASSERT_TRUE(agent.ready()) << agent.process().err();
  RawClient bad(setup.socket);
  ASSERT_TRUE(bad.send("GET / HTTP/1.1\r\n"));
  auto refusal = nlohmann::json::parse(bad.line().value_or("null"));
  EXPECT_EQ(refusal["ok"], false);
  EXPECT_TRUE(bad.closed_by_peer());
  auto hardware = testing::run_carbonmeter({"hardware", "--json"}, "/tmp", nullptr, setup.tracker_env());
  ASSERT_EQ(hardware.exit_code, 0) << hardware.err;
  auto json = nlohmann::json::parse(hardware.out);
  EXPECT_EQ(json["selected"]["cpu"]["method"], "rapl-agent");
  EXPECT_THAT(json["notes"].dump(), HasSubstr("through the carbonmeter agent"));
  agent.process().signal(SIGTERM);
  ASSERT_EQ(agent.process().wait(5.0), 0);
  const std::string log = agent.process().err();
  EXPECT_THAT(log, HasSubstr("dropped a request from pid " + std::to_string(::getpid()) + " uid 0"));
  EXPECT_THAT(log, HasSubstr("it sent \"GET / HTTP/1.1\\x0d\\n\""));
}

TEST(AgentCli, SocketModeGroupAndCleanExitOnSignals) {
  Tracker setup;
  const group* daemon_group = ::getgrnam("daemon");
  if (!daemon_group) GTEST_SKIP() << "no group 'daemon' here";
  {
    AgentProcess agent(setup.agent_root, setup.socket, {"--group", "daemon"});
    ASSERT_TRUE(agent.ready()) << agent.process().err();
    struct stat info {};
    ASSERT_EQ(::stat(setup.socket.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 07777, 0660u);
    EXPECT_EQ(info.st_gid, daemon_group->gr_gid);
    agent.process().signal(SIGTERM);
    ASSERT_EQ(agent.process().wait(5.0), 0) << agent.process().err();
    EXPECT_FALSE(std::filesystem::exists(setup.socket));
    EXPECT_THAT(agent.process().err(), HasSubstr("mode 0660, group daemon"));
    EXPECT_THAT(agent.process().err(), HasSubstr("stopped (Terminated)"));
  }
  AgentProcess agent(setup.agent_root, setup.socket);
  ASSERT_TRUE(agent.ready()) << agent.process().err();
  struct stat info {};
  ASSERT_EQ(::stat(setup.socket.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0600u);
  EXPECT_THAT(agent.process().err(), HasSubstr("no --group: only this agent's user"));
  agent.process().signal(SIGINT);
  ASSERT_EQ(agent.process().wait(5.0), 0);
  EXPECT_FALSE(std::filesystem::exists(setup.socket));
}

TEST(AgentCli, BadFlagsExit2) {
  TempDir dir;
  auto unknown = testing::run_carbonmeter({"agent", "--socket", dir / "a.sock", "--bogus"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_FALSE(std::filesystem::exists(dir / "a.sock"));
  auto no_value = testing::run_carbonmeter({"agent", "--socket"});
  EXPECT_EQ(no_value.exit_code, 2);
  auto no_group =
      testing::run_carbonmeter({"agent", "--socket", dir / "a.sock", "--group", "no-such-group-cm"});
  EXPECT_EQ(no_group.exit_code, 2);
  EXPECT_THAT(no_group.err, HasSubstr("--group no-such-group-cm: no such group"));
  EXPECT_FALSE(std::filesystem::exists(dir / "a.sock"));
}

TEST(AgentCli, SocketPathErrorsAreClear) {
  FakeRoot root("intel_server_2s");
  TempDir dir;
  const testing::EnvChanges env = root_env(root);
  auto missing =
      testing::run_carbonmeter({"agent", "--socket", dir / "no-such-dir/agent.sock"}, "/tmp", nullptr, env);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("folder " + (dir / "no-such-dir") + " does not exist: create it"));

  testing::write_file(dir / "a-file", "keep me");
  auto not_socket = testing::run_carbonmeter({"agent", "--socket", dir / "a-file"}, "/tmp", nullptr, env);
  EXPECT_EQ(not_socket.exit_code, 1);
  EXPECT_THAT(not_socket.err, HasSubstr("exists and is not a socket"));
  EXPECT_EQ(slurp(dir / "a-file"), "keep me");

  AgentProcess first(root, dir / "agent.sock");
  ASSERT_TRUE(first.ready()) << first.process().err();
  auto second = testing::run_carbonmeter({"agent", "--socket", dir / "agent.sock"}, "/tmp", nullptr, env);
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_THAT(second.err, HasSubstr("another agent serves it already"));
  EXPECT_TRUE(first.process().running());

  if (::access(kSetpriv, X_OK) != 0)
    GTEST_SKIP() << "no setpriv: the unwritable-folder case needs another user";
  ::chmod(dir.path().c_str(), 0755);  // searchable, not writable, by others
  testing::EnvChanges as_nobody_env = env;
  ProcessGuard as_nobody({kSetpriv, "--reuid=65534", "--regid=65534", "--clear-groups", CARBONMETER_CLI_PATH,
                          "agent", "--socket", dir / "other.sock"},
                         as_nobody_env);
  // nobody can read the fake energy_uj files (0644), but not write in the folder: the socket cannot be made.
  ASSERT_EQ(as_nobody.wait(10.0), 1) << as_nobody.err();
  EXPECT_THAT(as_nobody.err(), HasSubstr("is not writable by this user"));
}

TEST(AgentCli, NoReadableRaplIsAClearError) {
  FakeRoot root("vm_no_rapl");
  TempDir dir;
  auto outcome =
      testing::run_carbonmeter({"agent", "--socket", dir / "agent.sock"}, "/tmp", nullptr, root_env(root));
  EXPECT_EQ(outcome.exit_code, 1);
  EXPECT_THAT(outcome.err, HasSubstr("no RAPL counter is readable here"));
  EXPECT_THAT(outcome.err, HasSubstr("CAP_DAC_READ_SEARCH"));
  EXPECT_FALSE(std::filesystem::exists(dir / "agent.sock"));
}

// A real unprivileged user (nobody): energy_uj is root-only, as on current kernels.
class UnprivilegedTracker : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kSetpriv, X_OK) != 0) GTEST_SKIP() << "no setpriv";
    if (!::getgrnam("daemon")) GTEST_SKIP() << "no group 'daemon'";
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to start the agent";
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root_.sys("class/powercap")))
      if (entry.path().filename() == "energy_uj") ::chmod(entry.path().c_str(), 0400);
    ::chmod(dir_.path().c_str(), 0755);
    agent_ = std::make_unique<AgentProcess>(root_, socket_, std::vector<std::string>{"--group", "daemon"});
    ASSERT_TRUE(agent_->ready()) << agent_->process().err();
  }
  nlohmann::json hardware_as_nobody(const std::vector<std::string>& groups) {
    std::vector<std::string> argv = {kSetpriv, "--reuid=65534", "--regid=65534"};
    argv.insert(argv.end(), groups.begin(), groups.end());
    argv.insert(argv.end(), {CARBONMETER_CLI_PATH, "hardware", "--json"});
    testing::EnvChanges env = root_env(root_);
    env["CARBONMETER_AGENT_SOCKET"] = socket_;
    ProcessGuard hardware(argv, env);
    EXPECT_EQ(hardware.wait(20.0), 0) << hardware.err();
    return nlohmann::json::parse(hardware.out(), nullptr, false);
  }
  static const nlohmann::json* sensor(const nlohmann::json& json, const std::string& method) {
    for (const auto& item : json["sensors"])
      if (item["method"] == method) return &item;
    return nullptr;
  }

  FakeRoot root_{"intel_server_2s"};
  TempDir dir_;
  std::string socket_ = dir_ / "agent.sock";
  std::unique_ptr<AgentProcess> agent_;
};

TEST_F(UnprivilegedTracker, OutsideTheGroupHardwareSaysToJoinIt) {
  nlohmann::json json = hardware_as_nobody({"--clear-groups"});
  ASSERT_TRUE(json.is_object());
  const nlohmann::json* powercap = sensor(json, "rapl-powercap");
  ASSERT_NE(powercap, nullptr);
  EXPECT_EQ((*powercap)["found"], false);
  const nlohmann::json* agent = sensor(json, "rapl-agent");
  ASSERT_NE(agent, nullptr);
  EXPECT_EQ((*agent)["found"], false);
  EXPECT_THAT((*agent)["detail"].get<std::string>(), HasSubstr("not accessible to this user"));
  EXPECT_THAT((*agent)["fix"].get<std::string>(), HasSubstr("join group 'daemon'"));
  EXPECT_EQ(json["selected"]["cpu"]["method"], "cpu-estimate");
  EXPECT_THAT(json["notes"].dump(), HasSubstr("join group 'daemon'"));
}

TEST_F(UnprivilegedTracker, InTheGroupTheAgentIsUsedAutomatically) {
  nlohmann::json json = hardware_as_nobody({"--groups=" + std::to_string(::getgrnam("daemon")->gr_gid)});
  ASSERT_TRUE(json.is_object());
  EXPECT_EQ(json["selected"]["cpu"]["method"], "rapl-agent");
  EXPECT_EQ(json["selected"]["ram"]["method"], "rapl-agent");
  EXPECT_THAT(json["notes"].dump(), HasSubstr("through the carbonmeter agent"));
  EXPECT_THAT(json["notes"].dump(), HasSubstr("cannot read the counters itself (permission denied"));
}

}  // namespace
}  // namespace carbonmeter
