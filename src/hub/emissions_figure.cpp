#include "hub/emissions_figure.hpp"

#include <cmath>
#include <cstdlib>
#include <utility>

#include "core/number_format.hpp"
#include "hub/plain_text.hpp"

namespace carbonmeter::hub {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Digits, with single underscores between them (Python's rule); returns how many chars it took.
std::size_t scan_digits(std::string_view text, std::size_t at) {
  const std::size_t start = at;
  if (at >= text.size() || !is_digit(text[at])) return 0;
  ++at;
  while (at < text.size()) {
    if (is_digit(text[at])) {
      ++at;
    } else if (text[at] == '_' && at + 1 < text.size() && is_digit(text[at + 1])) {
      at += 2;
    } else {
      break;
    }
  }
  return at - start;
}

// The length of the longest decimal number (sign, digits, fraction, exponent) at the start of text.
std::size_t scan_decimal(std::string_view text) {
  std::size_t at = 0;
  if (at < text.size() && (text[at] == '+' || text[at] == '-')) ++at;
  const std::size_t whole = scan_digits(text, at);
  at += whole;
  std::size_t fraction = 0;
  if (at < text.size() && text[at] == '.') {
    fraction = scan_digits(text, at + 1);
    if (whole == 0 && fraction == 0) return 0;
    at += 1 + fraction;
  }
  if (whole == 0 && fraction == 0) return 0;
  if (at < text.size() && (text[at] == 'e' || text[at] == 'E')) {
    std::size_t exponent_at = at + 1;
    if (exponent_at < text.size() && (text[exponent_at] == '+' || text[exponent_at] == '-')) ++exponent_at;
    if (const std::size_t exponent = scan_digits(text, exponent_at); exponent > 0)
      at = exponent_at + exponent;
  }
  return at;
}

double to_double(std::string_view decimal) {
  std::string digits;
  for (char c : decimal)
    if (c != '_') digits += c;
  return std::strtod(digits.c_str(), nullptr);  // the grammar is checked: no hex, no locale words
}

// "3.5 kg" -> 3500 (grams), for the error's hint; nullopt when the words are not a known unit.
std::optional<double> grams_with_unit(std::string_view text) {
  text = strip(text);
  const std::size_t number_length = scan_decimal(text);
  if (number_length == 0) return std::nullopt;
  std::string unit;
  for (char c : lower(text.substr(number_length)))
    if (!is_python_space(c)) unit += c;
  for (std::string_view suffix : {"co2-eq", "co2eq", "co2e", "co2"}) {
    if (unit.size() > suffix.size() && unit.ends_with(suffix)) {
      unit.resize(unit.size() - suffix.size());
      break;
    }
  }
  static const std::pair<std::string_view, double> kUnits[] = {
      {"g", 1.0},         {"gr", 1.0},          {"gram", 1.0},        {"grams", 1.0},     {"mg", 1e-3},
      {"kg", 1e3},        {"kgs", 1e3},         {"kilogram", 1e3},    {"kilograms", 1e3}, {"t", 1e6},
      {"ton", 1e6},       {"tons", 1e6},        {"tonne", 1e6},       {"tonnes", 1e6},    {"lb", 453.59237},
      {"lbs", 453.59237}, {"pound", 453.59237}, {"pounds", 453.59237}};
  for (const auto& [name, grams] : kUnits)
    if (unit == name) return to_double(text.substr(0, number_length)) * grams;
  return std::nullopt;
}

}  // namespace

std::optional<double> python_float(std::string_view text) {
  text = strip(text);
  std::string_view unsigned_part = text;
  bool negative = false;
  if (!unsigned_part.empty() && (unsigned_part.front() == '+' || unsigned_part.front() == '-')) {
    negative = unsigned_part.front() == '-';
    unsigned_part.remove_prefix(1);
  }
  const std::string word = lower(unsigned_part);
  if (word == "inf" || word == "infinity") return negative ? -HUGE_VAL : HUGE_VAL;
  if (word == "nan") return std::nan("");
  if (text.empty() || scan_decimal(text) != text.size()) return std::nullopt;
  return to_double(text);
}

Result<double> parse_grams(std::string_view text, const std::string& what) {
  const std::string shown(strip(text));
  const std::string plain = "write the emissions in grams as a plain number";
  if (shown.empty()) return Error{what + " has no value: " + plain + " (e.g. 1200)"};
  const std::optional<double> number = python_float(text);
  if (!number) {
    if (const std::optional<double> grams = grams_with_unit(text))
      return Error{what + " '" + shown + "' has a unit written as text: " + plain + " (" + shown + " = " +
                   format_significant(*grams, 6) + ")"};
    return Error{what + " '" + shown + "' is not a number: " + plain + " (e.g. 1200)"};
  }
  if (!std::isfinite(*number))
    return Error{what + " '" + shown + "' is not a finite number: " + plain + ", 0 or more"};
  if (*number < 0) return Error{what + " '" + shown + "' is negative: " + plain + ", 0 or more"};
  return *number == 0 ? 0.0 : *number;  // -0 reads as 0
}

}  // namespace carbonmeter::hub
