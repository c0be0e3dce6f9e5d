#include "agent/request_parser.hpp"

#include "agent/protocol.hpp"

namespace carbonmeter::agent {
namespace {

constexpr std::size_t kMaxQuotedVerb = 16;
constexpr int kMaxVersion = 999;

bool printable(char c) { return c >= 0x20 && c <= 0x7e; }

std::string hex_byte(unsigned char byte) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  return std::string("0x") + kDigits[byte >> 4] + kDigits[byte & 0xF];
}

ParseOutcome failure(std::string message) {
  ParseOutcome outcome;
  outcome.status = ParseStatus::error;
  outcome.error = std::move(message);
  return outcome;
}

// 1..999 in plain decimal: no sign, no leading zero, no spaces.
int parse_version(std::string_view text) {
  if (text.empty() || text.size() > 3 || text[0] == '0') return 0;
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return 0;
    value = value * 10 + (c - '0');
  }
  return value <= kMaxVersion ? value : 0;
}

ParseOutcome parse_line(std::string_view line) {
  if (line.empty())
    return failure("empty request: send HELLO " + std::to_string(kProtocolVersion) + " or READ");
  const std::size_t space = line.find(' ');
  const std::string_view verb = line.substr(0, space);
  const std::string_view argument =
      space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  ParseOutcome outcome;
  outcome.status = ParseStatus::request;
  if (verb == "HELLO") {
    const int version = space == std::string_view::npos ? 0 : parse_version(argument);
    if (version == 0)
      return failure("HELLO takes one protocol version, 1 to 999: HELLO " + std::to_string(kProtocolVersion));
    outcome.request = {Verb::hello, version};
    return outcome;
  }
  if (verb == "READ") {
    if (space != std::string_view::npos) return failure("READ takes no argument");
    outcome.request = {Verb::read, 0};
    return outcome;
  }
  std::string quoted(verb.substr(0, kMaxQuotedVerb));
  if (verb.size() > kMaxQuotedVerb) quoted += "...";
  return failure("unknown request '" + quoted + "': this agent answers HELLO and READ only");
}

}  // namespace

ParseOutcome parse_request(std::string_view buffer) {
  const std::size_t window = buffer.size() < kMaxRequestBytes ? buffer.size() : kMaxRequestBytes;
  for (std::size_t i = 0; i < window; ++i) {
    const char c = buffer[i];
    if (c == '\n') {
      ParseOutcome outcome = parse_line(buffer.substr(0, i));
      if (outcome.status == ParseStatus::request) outcome.consumed = i + 1;
      return outcome;
    }
    // Checked as the bytes come: binary garbage is refused at once, not after the line's end.
    if (!printable(c))
      return failure("byte " + hex_byte(static_cast<unsigned char>(c)) + " at offset " + std::to_string(i) +
                     " is not printable ASCII (requests are text lines ending in \\n)");
  }
  if (buffer.size() >= kMaxRequestBytes)
    return failure("request longer than " + std::to_string(kMaxRequestBytes) + " bytes without a newline");
  return {};
}

std::string format_request(const Request& request) {
  if (request.verb == Verb::hello) return "HELLO " + std::to_string(request.version);
  return "READ";
}

}  // namespace carbonmeter::agent
