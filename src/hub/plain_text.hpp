// Small text helpers of the card readers, with Python's rules (python/carbonmeter/hub.py) for ASCII.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace carbonmeter::hub {

// Python's whitespace for str.strip() and float(), ASCII part. (core's trim() keeps \v and \f.)
inline constexpr std::string_view kPythonSpaces = " \t\n\r\v\f";

inline bool is_python_space(char c) { return kPythonSpaces.find(c) != std::string_view::npos; }

// `text` without the `chars` at either end (Python's str.strip(chars)).
inline std::string_view strip(std::string_view text, std::string_view chars = kPythonSpaces) {
  const std::size_t first = text.find_first_not_of(chars);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(chars) - first + 1);
}

inline std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

}  // namespace carbonmeter::hub
