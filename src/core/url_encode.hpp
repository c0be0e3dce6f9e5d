// Percent-encoding of a URL's path segment or query value (RFC 3986): the Hub client's queries, the
// dashboard's links.
#pragma once

#include <string>
#include <string_view>

namespace carbonmeter {

// Percent-encodes every byte but RFC 3986's unreserved characters (A-Z a-z 0-9 - . _ ~), with
// upper-case hex digits: "bert base/uncased" -> "bert%20base%2Funcased".
std::string url_encode(std::string_view text);

}  // namespace carbonmeter
