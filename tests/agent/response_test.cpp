// The agent's answers: what the writer makes, the reader takes back; the reader refuses the rest.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/response_reader.hpp"
#include "agent/response_writer.hpp"

namespace carbonmeter::agent {
namespace {

using ::testing::HasSubstr;

HelloInfo sample_hello() {
  HelloInfo hello;
  hello.agent = "carbonmeter 0.1.0";
  hello.instance = "0123456789abcdef";
  hello.pid = 4242;
  hello.method = "rapl-powercap";
  hello.sample_period_s = 1.0;
  hello.channels = {{Component::cpu, "package-0", "package", 0.05},
                    {Component::ram, "package-0", "dram", 0.10}};
  return hello;
}

TEST(AgentResponse, HelloRoundTrips) {
  const std::string line = hello_response(sample_hello());
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // one line
  auto hello = parse_hello_response(std::string_view(line).substr(0, line.size() - 1));
  ASSERT_TRUE(hello.ok()) << hello.error().message;
  EXPECT_EQ(hello.value().instance, "0123456789abcdef");
  EXPECT_EQ(hello.value().pid, 4242);
  EXPECT_EQ(hello.value().method, "rapl-powercap");
  ASSERT_EQ(hello.value().channels.size(), 2u);
  EXPECT_EQ(hello.value().channels[1].component, Component::ram);
  EXPECT_EQ(hello.value().channels[1].domain, "dram");
  EXPECT_DOUBLE_EQ(hello.value().channels[1].relative_uncertainty, 0.10);
}

TEST(AgentResponse, ReadRoundTripsEvery64BitValue) {
  ReadInfo read;
  read.instance = "fedcba9876543210";
  read.monotonic_ns = 123456789012345ull;
  read.counters = {{"package-0", "package", 0}, {"package-1", "package", 18446744073709551615ull}};
  const std::string line = read_response(read);
  auto back = parse_read_response(line.substr(0, line.size() - 1));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back.value().monotonic_ns, 123456789012345ull);
  ASSERT_EQ(back.value().counters.size(), 2u);
  EXPECT_EQ(back.value().counters[1].energy_uj, 18446744073709551615ull);
}

TEST(AgentResponse, ErrorsCarryTheAgentsReason) {
  const std::string line = error_response("READ before HELLO: send HELLO 1 first");
  auto read = parse_read_response(line.substr(0, line.size() - 1));
  ASSERT_FALSE(read.ok());
  EXPECT_THAT(read.error().message, HasSubstr("refused"));
  EXPECT_THAT(read.error().message, HasSubstr("send HELLO 1 first"));
}

TEST(AgentResponse, ReaderRefusesWhatIsNotTheProtocol) {
  for (
      const char* bad : {
          "",
          "not json",
          "[]",
          "{}",
          "{\"ok\":1}",
          R"({"ok":true,"protocol":2,"instance":"a","monotonic_ns":1,"counters":[]})",
          R"({"ok":true,"protocol":1,"monotonic_ns":1,"counters":[]})",
          R"({"ok":true,"protocol":1,"instance":"a","counters":[]})",
          R"({"ok":true,"protocol":1,"instance":"a","monotonic_ns":1,"counters":{}})",
          R"({"ok":true,"protocol":1,"instance":"a","monotonic_ns":1,"counters":[{"device":"p","domain":"d","energy_uj":-5}]})",
          R"({"ok":true,"protocol":1,"instance":"a","monotonic_ns":1,"counters":[{"device":"p","domain":"d","energy_uj":1.5}]})",
          R"({"ok":true,"protocol":1,"instance":"a","monotonic_ns":1,"counters":[{"device":"","domain":"d","energy_uj":1}]})",
          R"({"ok":true,"protocol":1,"instance":"a","monotonic_ns":-1,"counters":[]})",
      })
    EXPECT_FALSE(parse_read_response(bad).ok()) << bad;
  for (
      const char* bad : {
          R"({"ok":true,"protocol":1,"instance":"a","method":"m","channels":[{"component":"gpu","device":"g","domain":"d","relative_uncertainty":0.1}]})",
          R"({"ok":true,"protocol":1,"instance":"a","method":"m","channels":[{"component":"cpu","device":"g","domain":"d","relative_uncertainty":-1}]})",
          R"({"ok":true,"protocol":1,"instance":"a","channels":[]})",
      })
    EXPECT_FALSE(parse_hello_response(bad).ok()) << bad;
  std::string many = R"({"ok":true,"protocol":1,"instance":"a","monotonic_ns":1,"counters":[)";
  for (int i = 0; i < 300; ++i)
    many += std::string(i ? "," : "") + R"({"device":"p","domain":"d","energy_uj":1})";
  EXPECT_FALSE(parse_read_response(many + "]}").ok());
}

}  // namespace
}  // namespace carbonmeter::agent
