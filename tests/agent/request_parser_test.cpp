// The agent's request parser: strict, bounded, known verbs only.
#include "agent/request_parser.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/protocol.hpp"

namespace carbonmeter::agent {
namespace {

using ::testing::HasSubstr;

TEST(AgentParser, HelloAndRead) {
  ParseOutcome hello = parse_request("HELLO 1\n");
  ASSERT_EQ(hello.status, ParseStatus::request) << hello.error;
  EXPECT_EQ(hello.request.verb, Verb::hello);
  EXPECT_EQ(hello.request.version, 1);
  EXPECT_EQ(hello.consumed, 8u);
  ParseOutcome read = parse_request("READ\n");
  ASSERT_EQ(read.status, ParseStatus::request);
  EXPECT_EQ(read.request.verb, Verb::read);
  EXPECT_EQ(read.consumed, 5u);
  // A future version is well-formed (the server answers that it speaks 1).
  ParseOutcome later = parse_request("HELLO 999\n");
  ASSERT_EQ(later.status, ParseStatus::request);
  EXPECT_EQ(later.request.version, 999);
}

TEST(AgentParser, TakesOneRequestAtATime) {
  const std::string buffer = "READ\nHELLO 1\nRE";
  ParseOutcome first = parse_request(buffer);
  ASSERT_EQ(first.status, ParseStatus::request);
  EXPECT_EQ(first.consumed, 5u);
  ParseOutcome second = parse_request(std::string_view(buffer).substr(first.consumed));
  ASSERT_EQ(second.status, ParseStatus::request);
  EXPECT_EQ(second.request.verb, Verb::hello);
  ParseOutcome third = parse_request(std::string_view(buffer).substr(first.consumed + second.consumed));
  EXPECT_EQ(third.status, ParseStatus::incomplete);
  EXPECT_EQ(third.consumed, 0u);
}

TEST(AgentParser, IncompleteUntilNewlineButNeverBeyondTheLimit) {
  EXPECT_EQ(parse_request("").status, ParseStatus::incomplete);
  EXPECT_EQ(parse_request("HEL").status, ParseStatus::incomplete);
  EXPECT_EQ(parse_request("HELLO 1").status, ParseStatus::incomplete);
  const std::string just_under(kMaxRequestBytes - 1, 'A');
  EXPECT_EQ(parse_request(just_under).status, ParseStatus::incomplete);
  ParseOutcome too_long = parse_request(just_under + "A");
  ASSERT_EQ(too_long.status, ParseStatus::error);
  EXPECT_THAT(too_long.error, HasSubstr("longer than 64 bytes"));
  // The newline must come within the limit, even when more bytes follow.
  EXPECT_EQ(parse_request(std::string(kMaxRequestBytes, 'A') + "\n").status, ParseStatus::error);
}

TEST(AgentParser, RefusesWhatIsNotExactlyTheGrammar) {
  for (const char* bad : {"\n",
                          "hello 1\n",
                          "read\n",
                          "HELLO\n",
                          "HELLO \n",
                          "HELLO 0\n",
                          "HELLO 01\n",
                          "HELLO 1000\n",
                          "HELLO -1\n",
                          "HELLO +1\n",
                          "HELLO 1 \n",
                          "HELLO  1\n",
                          " READ\n",
                          "READ \n",
                          "READ 1\n",
                          "HELLO 1 2\n",
                          "WRITE\n",
                          "SET_POWER_LIMIT 100\n",
                          "GET / HTTP/1.1\n",
                          "{\"verb\":\"READ\"}\n"}) {
    ParseOutcome outcome = parse_request(bad);
    EXPECT_EQ(outcome.status, ParseStatus::error) << bad;
    EXPECT_FALSE(outcome.error.empty()) << bad;
    EXPECT_EQ(outcome.consumed, 0u) << bad;
  }
}

TEST(AgentParser, RefusesBinaryAsSoonAsItArrives) {
  ParseOutcome cr = parse_request("READ\r\n");
  ASSERT_EQ(cr.status, ParseStatus::error);
  EXPECT_THAT(cr.error, HasSubstr("0x0D at offset 4"));
  EXPECT_EQ(parse_request(std::string("RE\0D", 4)).status, ParseStatus::error);  // no newline needed
  EXPECT_EQ(parse_request("\x16\x03\x01").status, ParseStatus::error);           // a TLS hello
  EXPECT_EQ(parse_request("READ\t\n").status, ParseStatus::error);
  EXPECT_EQ(parse_request("R\xc3\xa9"
                          "AD\n")
                .status,
            ParseStatus::error);
}

TEST(AgentParser, ErrorsNameTheVerbBriefly) {
  ParseOutcome unknown = parse_request("STOP\n");
  EXPECT_THAT(unknown.error, HasSubstr("'STOP'"));
  EXPECT_THAT(unknown.error, HasSubstr("HELLO and READ"));
  ParseOutcome long_verb = parse_request(std::string(60, 'X') + "\n");
  ASSERT_EQ(long_verb.status, ParseStatus::error);
  EXPECT_THAT(long_verb.error, HasSubstr("XXXXXXXXXXXXXXXX...'"));
  EXPECT_LE(long_verb.error.size(), 100u);
}

TEST(AgentParser, FormatIsTheCanonicalText) {
  EXPECT_EQ(format_request({Verb::hello, 1}), "HELLO 1");
  EXPECT_EQ(format_request({Verb::read, 0}), "READ");
  for (const char* text : {"HELLO 1", "HELLO 42", "READ"}) {
    ParseOutcome outcome = parse_request(std::string(text) + "\n");
    ASSERT_EQ(outcome.status, ParseStatus::request);
    EXPECT_EQ(format_request(outcome.request), text);
  }
}

}  // namespace
}  // namespace carbonmeter::agent
