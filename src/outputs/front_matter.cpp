#include "outputs/front_matter.hpp"

namespace carbonmeter {
namespace {

std::string_view strip_chars(std::string_view text, std::string_view chars) {
  const std::size_t first = text.find_first_not_of(chars);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(chars) - first + 1);
}

constexpr std::string_view kBlanks = " \t\v\f\r";

bool is_marker(std::string_view line, std::string_view marker) {
  return strip_chars(line, kBlanks) == marker;
}

}  // namespace

std::optional<std::size_t> front_matter_close(const std::vector<std::string_view>& lines) {
  if (lines.empty() || !is_marker(lines[0], "---")) return std::nullopt;
  for (std::size_t i = 1; i < lines.size(); ++i)
    if (is_marker(lines[i], "---") || is_marker(lines[i], "...")) return i;
  return std::nullopt;
}

bool is_emissions_key(std::string_view line) {
  if (line.empty() || line.front() == ' ' || line.front() == '\t') return false;
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return false;
  return strip_chars(strip_chars(line.substr(0, colon), kBlanks), "\"'") == "co2_eq_emissions";
}

}  // namespace carbonmeter
