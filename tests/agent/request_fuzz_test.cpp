// The request parser under many random and mutated inputs, deterministically (fixed seeds), so that
// the property behind fuzz/agent_request_fuzz.cpp runs in every test run: it never crashes, always
// gives a request, "incomplete" or an error, never reads past its limit, and a request it accepts is
// exactly the canonical text of a known verb.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "agent/protocol.hpp"
#include "agent/request_parser.hpp"

namespace carbonmeter::agent {
namespace {

constexpr int kRandomInputs = 40'000;
constexpr int kMutatedInputs = 40'000;

// Checks every property of one outcome; returns a description of the first one broken, or "".
std::string broken_property(const std::string& input) {
  const ParseOutcome outcome = parse_request(input);
  const std::size_t window = std::min(input.size(), kMaxRequestBytes);
  const std::size_t newline = input.substr(0, window).find('\n');
  switch (outcome.status) {
    case ParseStatus::request: {
      if (outcome.consumed == 0 || outcome.consumed > window) return "consumed out of bounds";
      if (newline == std::string::npos || outcome.consumed != newline + 1)
        return "consumed is not the first line";
      if (format_request(outcome.request) + "\n" != input.substr(0, outcome.consumed))
        return "accepted a request that is not canonical text";
      if (outcome.request.verb == Verb::hello &&
          (outcome.request.version < 1 || outcome.request.version > 999))
        return "accepted a version out of range";
      if (!outcome.error.empty()) return "a request with an error";
      break;
    }
    case ParseStatus::incomplete:
      if (newline != std::string::npos) return "incomplete although a newline is within the limit";
      if (input.size() >= kMaxRequestBytes) return "incomplete beyond the limit";
      if (outcome.consumed != 0) return "incomplete consumed bytes";
      break;
    case ParseStatus::error:
      if (outcome.error.empty() || outcome.error.size() > 120) return "error message empty or unbounded";
      for (char c : outcome.error)
        if (c < 0x20 || c > 0x7e) return "error message not printable";
      if (outcome.consumed != 0) return "an error consumed bytes";
      break;
    default:
      return "unknown status";
  }
  // Pure: the same bytes give the same answer.
  const ParseOutcome again = parse_request(input);
  if (again.status != outcome.status || again.consumed != outcome.consumed || again.error != outcome.error)
    return "not deterministic";
  return "";
}

std::string escaped(const std::string& input) {
  std::string out;
  for (unsigned char c : input) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return out;
}

TEST(AgentRequestFuzz, RandomBytes) {
  std::mt19937_64 random(20240611);
  std::uniform_int_distribution<int> length(0, 200);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> text_byte(0x1f, 0x7f);  // mostly printable, a few edges
  int requests = 0;
  for (int i = 0; i < kRandomInputs; ++i) {
    std::string input(static_cast<std::size_t>(length(random)), '\0');
    const bool text = i % 2 == 0;
    for (char& c : input) c = static_cast<char>(text ? text_byte(random) : byte(random));
    if (text && !input.empty() && i % 4 == 0)
      input[static_cast<std::size_t>(length(random)) % input.size()] = '\n';
    const std::string broken = broken_property(input);
    ASSERT_EQ(broken, "") << "input: \"" << escaped(input) << "\"";
    requests += parse_request(input).status == ParseStatus::request;
  }
  EXPECT_EQ(requests, 0);  // random text is never a request
}

TEST(AgentRequestFuzz, MutatedRequests) {
  const std::vector<std::string> seeds = {"HELLO 1\n",          "READ\n",      "HELLO 1\nREAD\n",
                                          "READ\nREAD\nREAD\n", "HELLO 999\n", "HELLO 12\n"};
  const std::string alphabet = std::string("HELOREAD 0123456789\n\r\t\x00\x7f\xff ", 24);
  std::mt19937_64 random(7);
  int accepted = 0, refused = 0, incomplete = 0;
  for (int i = 0; i < kMutatedInputs; ++i) {
    std::string input = seeds[random() % seeds.size()];
    const int mutations = 1 + static_cast<int>(random() % 4);
    for (int m = 0; m < mutations; ++m) {
      const std::size_t at = input.empty() ? 0 : random() % (input.size() + 1);
      switch (random() % 6) {
        case 0:  // insert
          input.insert(input.begin() + static_cast<long>(at), alphabet[random() % alphabet.size()]);
          break;
        case 1:  // delete
          if (at < input.size()) input.erase(at, 1);
          break;
        case 2:  // replace
          if (at < input.size()) input[at] = alphabet[random() % alphabet.size()];
          break;
        case 3:  // flip a bit
          if (at < input.size()) input[at] = static_cast<char>(input[at] ^ (1 << (random() % 8)));
          break;
        case 4:  // truncate
          input.resize(at);
          break;
        default:  // repeat a stretch (long lines)
          input.insert(at, input.substr(0, std::min<std::size_t>(input.size(), 1 + random() % 70)));
          break;
      }
    }
    const std::string broken = broken_property(input);
    ASSERT_EQ(broken, "") << "input: \"" << escaped(input) << "\"";
    switch (parse_request(input).status) {
      case ParseStatus::request:
        ++accepted;
        break;
      case ParseStatus::error:
        ++refused;
        break;
      default:
        ++incomplete;
    }
  }
  // The mutations reach every outcome.
  EXPECT_GT(accepted, 1000);
  EXPECT_GT(refused, 1000);
  EXPECT_GT(incomplete, 100);
}

TEST(AgentRequestFuzz, EveryShortInputOverASmallAlphabet) {
  // Exhaustive up to 5 bytes over the bytes that matter to the grammar.
  const std::string alphabet = std::string("HR1 \n\x00", 6);
  std::string input;
  std::function<void(std::size_t)> walk = [&](std::size_t depth) {
    ASSERT_EQ(broken_property(input), "") << escaped(input);
    if (depth == 5) return;
    for (char c : alphabet) {
      input.push_back(c);
      walk(depth + 1);
      input.pop_back();
    }
  };
  walk(0);
}

}  // namespace
}  // namespace carbonmeter::agent
