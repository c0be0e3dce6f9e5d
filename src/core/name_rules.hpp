// The rule for the names a carbonmeter server keeps (projects, experiments, job ids, nodes, token
// labels): the server checks what it is sent with it, and run/monitor --server check their flags
// with it before anything runs.
#pragma once

#include <cstddef>
#include <string>

#include "carbonmeter/result.hpp"

namespace carbonmeter {

// 1 to 128 characters (UTF-8 code points), no control characters, no '/' (names appear in URLs).
// `what` names the value at the start of the error: "field 'project'", "--experiment".
Status check_name(const std::string& value, const std::string& what);

// The number of UTF-8 code points (the bytes that do not continue a character).
std::size_t utf8_length(const std::string& text);

}  // namespace carbonmeter
