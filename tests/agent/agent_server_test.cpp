// The agent's server in this process, on a fake sysfs: answers, drops malformed requests with a
// log line naming the client, and never lets one client hold up another.
#include "agent/agent_server.hpp"

#include <gmock/gmock.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "agent/agent_test_util.hpp"
#include "support/fake_root.hpp"

namespace carbonmeter::agent {
namespace {

using carbonmeter::testing::eventually;
using carbonmeter::testing::FakeRoot;
using carbonmeter::testing::InProcessAgent;
using carbonmeter::testing::RawClient;
using carbonmeter::testing::TempDir;
using ::testing::HasSubstr;

nlohmann::json json_of(const std::optional<std::string>& line) {
  if (!line) return nullptr;
  return nlohmann::json::parse(*line, nullptr, false);
}

std::uint64_t package0_uj(const nlohmann::json& read) {
  for (const auto& counter : read["counters"])
    if (counter["device"] == "package-0" && counter["domain"] == "package") return counter["energy_uj"];
  return ~0ull;
}

class AgentServerTest : public ::testing::Test {
 protected:
  FakeRoot root_{"intel_server_2s"};
  TempDir dir_;
  std::string socket_ = dir_ / "agent.sock";
};

TEST_F(AgentServerTest, HelloThenReadGivesTheCountersSinceTheAgentStarted) {
  InProcessAgent agent(socket_);
  RawClient client(socket_);
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send("HELLO 1\n"));
  nlohmann::json hello = json_of(client.line());
  ASSERT_TRUE(hello.is_object());
  EXPECT_EQ(hello["ok"], true);
  EXPECT_EQ(hello["protocol"], 1);
  EXPECT_EQ(hello["method"], "rapl-powercap");
  EXPECT_EQ(hello["pid"], ::getpid());
  EXPECT_EQ(hello["channels"].size(), 9u);
  ASSERT_TRUE(client.send("READ\n"));
  nlohmann::json first = json_of(client.line());
  EXPECT_EQ(package0_uj(first), 0u);
  EXPECT_EQ(first["instance"], hello["instance"]);
  root_.set_energy_uj("intel-rapl:0", 100'000'000 + 42'000'017);
  ASSERT_TRUE(client.send("READ\nREAD\n"));  // pipelined: answered in order
  EXPECT_EQ(package0_uj(json_of(client.line())), 42'000'017u);
  EXPECT_EQ(package0_uj(json_of(client.line())), 42'000'017u);
  agent.stop();
  EXPECT_EQ(agent.stats().requests, 4u);
  EXPECT_EQ(agent.stats().dropped, 0u);
}

TEST_F(AgentServerTest, MalformedRequestIsDroppedAndLoggedWithTheClientsCredentials) {
  InProcessAgent agent(socket_);
  RawClient bad(socket_);
  ASSERT_TRUE(bad.send("HELLO 1\nSET_POWER_LIMIT 1\n"));
  EXPECT_EQ(json_of(bad.line())["ok"], true);
  nlohmann::json refusal = json_of(bad.line());
  EXPECT_EQ(refusal["ok"], false);
  EXPECT_THAT(refusal["error"].get<std::string>(), HasSubstr("unknown request 'SET_POWER_LIMIT'"));
  EXPECT_TRUE(bad.closed_by_peer());
  // Still serving.
  RawClient good(socket_);
  ASSERT_TRUE(good.send("HELLO 1\nREAD\n"));
  EXPECT_EQ(json_of(good.line())["ok"], true);
  EXPECT_EQ(json_of(good.line())["ok"], true);
  agent.stop();
  const std::string log = agent.log();
  EXPECT_THAT(log, HasSubstr("dropped a request from pid " + std::to_string(::getpid()) + " uid " +
                             std::to_string(::getuid()) + " gid " + std::to_string(::getgid())));
  EXPECT_THAT(log, HasSubstr("malformed request"));
  EXPECT_THAT(log, HasSubstr("it sent \"SET_POWER_LIMIT 1\\n\""));
  EXPECT_EQ(agent.stats().dropped, 1u);
}

TEST_F(AgentServerTest, BinaryGarbageIsRefusedAtOnceAndEscapedInTheLog) {
  InProcessAgent agent(socket_);
  RawClient client(socket_);
  ASSERT_TRUE(client.send(std::string("\x16\x03\x01\x00\xff", 5)));  // no newline: refused anyway
  EXPECT_EQ(json_of(client.line())["ok"], false);
  EXPECT_TRUE(client.closed_by_peer());
  agent.stop();
  EXPECT_THAT(agent.log(), HasSubstr("\\x16\\x03\\x01\\x00\\xff"));
}

TEST_F(AgentServerTest, ProtocolRulesAreEnforced) {
  InProcessAgent agent(socket_);
  RawClient early(socket_);
  ASSERT_TRUE(early.send("READ\n"));
  EXPECT_THAT(json_of(early.line())["error"].get<std::string>(), HasSubstr("send HELLO 1 first"));
  EXPECT_TRUE(early.closed_by_peer());
  RawClient future(socket_);
  ASSERT_TRUE(future.send("HELLO 2\n"));
  EXPECT_THAT(json_of(future.line())["error"].get<std::string>(),
              HasSubstr("unsupported protocol version 2"));
  RawClient oversize(socket_);
  ASSERT_TRUE(oversize.send(std::string(100, 'R')));
  EXPECT_THAT(json_of(oversize.line())["error"].get<std::string>(), HasSubstr("longer than 64 bytes"));
  EXPECT_TRUE(oversize.closed_by_peer());
}

TEST_F(AgentServerTest, SilentAndSlowClientsHoldUpNoOne) {
  agent::ServerLimits limits = testing::fresh_limits();
  limits.request_timeout_s = 0.5;
  limits.max_clients_per_user = 64;  // the crowd is all this test's user
  InProcessAgent agent(socket_, limits);
  RawClient silent(socket_);
  RawClient slow(socket_);
  ASSERT_TRUE(slow.send("HEL"));  // and nothing more
  std::vector<std::unique_ptr<RawClient>> crowd;
  for (int i = 0; i < 50; ++i) crowd.push_back(std::make_unique<RawClient>(socket_));
  const auto start = std::chrono::steady_clock::now();
  for (auto& client : crowd) {
    ASSERT_TRUE(client->send("HELLO 1\nREAD\n"));
    EXPECT_EQ(json_of(client->line())["ok"], true);
    EXPECT_EQ(json_of(client->line())["ok"], true);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(400));
  // The half request is dropped after its timeout, and so is the connection that never said HELLO.
  EXPECT_TRUE(slow.closed_by_peer());
  EXPECT_TRUE(silent.closed_by_peer());
  agent.stop();
  EXPECT_THAT(agent.log(), HasSubstr("incomplete after 0.5 s; it sent \"HEL\""));
  EXPECT_THAT(agent.log(), HasSubstr("no request within 0.5 s of connecting"));
  EXPECT_EQ(agent.stats().timed_out, 2u);
}

TEST_F(AgentServerTest, AClientThatDoesNotReadItsAnswersIsCutOff) {
  agent::ServerLimits limits = testing::fresh_limits();
  limits.write_timeout_s = 0.5;
  limits.max_pending_output = 4096;
  InProcessAgent agent(socket_, limits);
  RawClient greedy(socket_);
  ASSERT_TRUE(greedy.send("HELLO 1\n"));
  // Requests as fast as possible, answers never read: the agent stops reading it, then closes it.
  const std::string burst = [] {
    std::string out;
    for (int i = 0; i < 2000; ++i) out += "READ\n";
    return out;
  }();
  std::size_t sent_total = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (std::chrono::steady_clock::now() < until) {
    const ssize_t sent = ::send(greedy.fd(), burst.data(), burst.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent < 0 && errno != EAGAIN) break;  // closed by the agent
    if (sent > 0) sent_total += static_cast<std::size_t>(sent);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    // Meanwhile another client is served at once.
  }
  RawClient other(socket_);
  ASSERT_TRUE(other.send("HELLO 1\n"));
  EXPECT_EQ(json_of(other.line())["ok"], true);
  EXPECT_GT(sent_total, 0u);
  agent.stop();
  EXPECT_THAT(agent.log(), HasSubstr("has not read its answer"));
}

TEST_F(AgentServerTest, TooManyClientsAreTurnedAwayPolitely) {
  agent::ServerLimits limits = testing::fresh_limits();
  limits.max_clients = 3;
  InProcessAgent agent(socket_, limits);
  std::vector<std::unique_ptr<RawClient>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<RawClient>(socket_));
    ASSERT_TRUE(held.back()->send("HELLO 1\n"));
    ASSERT_TRUE(held.back()->line().has_value());
  }
  RawClient extra(socket_);
  EXPECT_THAT(json_of(extra.line())["error"].get<std::string>(), HasSubstr("busy"));
  held.pop_back();  // one leaves: room again
  EXPECT_TRUE(eventually([&] {
    RawClient again(socket_);
    return again.send("HELLO 1\n") && json_of(again.line())["ok"] == true;
  }));
}

TEST_F(AgentServerTest, OneUserCannotHoldEveryConnection) {
  agent::ServerLimits limits = testing::fresh_limits();
  limits.max_clients = 10;
  limits.max_clients_per_user = 2;
  InProcessAgent agent(socket_, limits);
  std::vector<std::unique_ptr<RawClient>> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(std::make_unique<RawClient>(socket_));
    ASSERT_TRUE(held.back()->send("HELLO 1\n"));
    ASSERT_TRUE(held.back()->line().has_value());
  }
  RawClient third(socket_);
  EXPECT_THAT(json_of(third.line())["error"].get<std::string>(),
              HasSubstr("connections of this user already"));
  agent.stop();
  EXPECT_THAT(agent.log(), HasSubstr("its user holds 2 connections"));
}

TEST_F(AgentServerTest, ClientThatShutsItsSideStillGetsItsAnswers) {
  InProcessAgent agent(socket_);
  RawClient client(socket_);
  ASSERT_TRUE(client.send("HELLO 1\nREAD\n"));
  ::shutdown(client.fd(), SHUT_WR);
  EXPECT_EQ(json_of(client.line())["ok"], true);
  EXPECT_EQ(json_of(client.line())["ok"], true);
  EXPECT_TRUE(client.closed_by_peer());
}

TEST_F(AgentServerTest, SocketModeIsTheAccessControl) {
  {
    InProcessAgent agent(socket_);
    struct stat info {};
    ASSERT_EQ(::stat(socket_.c_str(), &info), 0);
    EXPECT_TRUE(S_ISSOCK(info.st_mode));
    EXPECT_EQ(info.st_mode & 07777, 0600u);
  }
  EXPECT_FALSE(std::filesystem::exists(socket_));  // removed at exit
  const group* daemon_group = ::getgrnam("daemon");
  if (!daemon_group) GTEST_SKIP() << "no group 'daemon' here";
  InProcessAgent agent(socket_, testing::fresh_limits(), daemon_group->gr_gid);
  struct stat info {};
  ASSERT_EQ(::stat(socket_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0660u);
  EXPECT_EQ(info.st_gid, daemon_group->gr_gid);
}

TEST_F(AgentServerTest, SocketPathRules) {
  // A stale socket (its agent was killed) is replaced.
  {
    InProcessAgent first(socket_);
    RawClient live(socket_);
    EXPECT_TRUE(live.connected());
    // A second agent on a live socket is refused, and leaves the first one's socket alone.
    auto second = ListeningSocket::create(socket_, std::nullopt);
    ASSERT_FALSE(second.ok());
    EXPECT_THAT(second.error().message, HasSubstr("another agent serves it already (pid "));
    EXPECT_TRUE(std::filesystem::exists(socket_));
  }
  const int stale = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strcpy(address.sun_path, socket_.c_str());
  ASSERT_EQ(::bind(stale, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ::close(stale);  // bound, never listened: what a killed agent leaves
  auto replaced = ListeningSocket::create(socket_, std::nullopt);
  ASSERT_TRUE(replaced.ok()) << replaced.error().message;
  EXPECT_TRUE(replaced.value().replaced_stale());

  carbonmeter::testing::write_file(dir_ / "a-file", "x");
  auto not_socket = ListeningSocket::create(dir_ / "a-file", std::nullopt);
  ASSERT_FALSE(not_socket.ok());
  EXPECT_THAT(not_socket.error().message, HasSubstr("exists and is not a socket"));
  EXPECT_EQ(carbonmeter::testing::slurp(dir_ / "a-file"), "x");

  auto missing = ListeningSocket::create(dir_ / "no-such-dir/agent.sock", std::nullopt);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message, HasSubstr("does not exist: create it"));

  auto too_long = ListeningSocket::create(dir_ / std::string(120, 's'), std::nullopt);
  ASSERT_FALSE(too_long.ok());
  EXPECT_THAT(too_long.error().message, HasSubstr("at most 107"));

  auto no_group = resolve_group("no-such-group-carbonmeter");
  ASSERT_FALSE(no_group.ok());
  EXPECT_THAT(no_group.error().message, HasSubstr("groupadd"));
  EXPECT_TRUE(resolve_group("0").ok());
}

}  // namespace
}  // namespace carbonmeter::agent
