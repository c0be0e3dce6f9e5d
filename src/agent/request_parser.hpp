// The agent's request parser: bytes a client sent → one request, "need more bytes", or an error.
// A pure function, strict on purpose: known verbs only, printable ASCII, one space between words,
// a line at most kMaxRequestBytes long. Fuzzed by fuzz/agent_request_fuzz.cpp.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace carbonmeter::agent {

enum class Verb {
  hello,  // `HELLO <version>`: which protocol version the client speaks
  read,   // `READ`: the cumulative counters now
};

struct Request {
  Verb verb = Verb::read;
  int version = 0;  // HELLO's version, 1..999; 0 for READ
};

enum class ParseStatus {
  request,     // a whole request: `request` and `consumed` are set
  incomplete,  // no newline yet and nothing wrong so far: wait for more bytes
  error,       // malformed: `error` says why; the connection is dropped
};

struct ParseOutcome {
  ParseStatus status = ParseStatus::incomplete;
  Request request;
  std::size_t consumed = 0;  // bytes of the buffer the request took, its '\n' included
  std::string error;         // at most about 100 characters, printable ASCII
};

// Parses the first request in `buffer` (what the client sent and no request has taken yet).
ParseOutcome parse_request(std::string_view buffer);

// The canonical text of a request, without the newline ("HELLO 1", "READ").
std::string format_request(const Request& request);

}  // namespace carbonmeter::agent
