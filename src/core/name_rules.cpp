#include "core/name_rules.hpp"

namespace carbonmeter {

std::size_t utf8_length(const std::string& text) {
  std::size_t count = 0;
  for (const char c : text)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++count;
  return count;
}

Status check_name(const std::string& value, const std::string& what) {
  const std::size_t length = utf8_length(value);
  if (length < 1 || length > 128)
    return Error{what + " must be 1 to 128 characters long (got " + std::to_string(length) + ")"};
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f)
      return Error{what + " must not contain control characters (tabs, newlines...)"};
    if (c == '/') return Error{what + " must not contain '/' (it appears in URLs)"};
  }
  return Ok{};
}

}  // namespace carbonmeter
