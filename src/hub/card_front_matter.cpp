#include "hub/card_front_matter.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "hub/emissions_figure.hpp"
#include "hub/plain_text.hpp"
#include "outputs/front_matter.hpp"

namespace carbonmeter::hub {
namespace {

// The card's lines without their line endings (\n, \r\n or \r, as Python's str.splitlines()).
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const std::size_t end = text.find_first_of("\r\n");
    lines.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + (text.compare(end, 2, "\r\n") == 0 ? 2 : 1));
  }
  return lines;
}

bool is_indented(std::string_view line) {
  return !line.empty() && (line.front() == ' ' || line.front() == '\t');
}

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

// A YAML scalar as the Python reader reads it: quotes removed (with their escapes), or a trailing
// " # comment" removed from a plain one.
std::string scalar(std::string_view value) {
  value = strip(value);
  if (value.size() >= 2 && value.front() == value.back() && (value.front() == '"' || value.front() == '\'')) {
    std::string inner(value.substr(1, value.size() - 2));
    if (value.front() == '"') return replace_all(replace_all(inner, "\\\"", "\""), "\\\\", "\\");
    return replace_all(inner, "''", "'");
  }
  const std::size_t hash_at = value.find(" #");
  return std::string(hash_at == std::string_view::npos ? value : strip(value.substr(0, hash_at)));
}

bool is_blank_or_comment(std::string_view line) {
  const std::string_view content = strip(line);
  return content.empty() || content.front() == '#';
}

std::size_t indentation(std::string_view line) { return line.find_first_not_of(" \t"); }

// `index`: in the card's lines; people count from 1.
std::string at_line(std::size_t index) { return "(line " + std::to_string(index + 1) + ")"; }

std::optional<std::string> optional_text(std::string_view value) {
  std::string text = scalar(value);
  if (text.empty()) return std::nullopt;
  return text;
}

// A value that starts a nested block (nothing, or only a comment, after the colon).
bool opens_block(std::string_view value) { return is_blank_or_comment(value); }

// "key: value" or "key:" (YAML needs a space after the colon of a key).
bool looks_like_key(std::string_view content) {
  const std::size_t colon = content.find(':');
  return colon != std::string_view::npos && colon > 0 &&
         (colon + 1 == content.size() || content[colon + 1] == ' ' || content[colon + 1] == '\t');
}

// The mapping under the co2_eq_emissions key at lines[key_index], up to the end of `lines` (the
// front matter).
Result<std::optional<ReportedEmissions>> read_mapping(const std::vector<std::string_view>& lines,
                                                      std::size_t key_index) {
  ReportedEmissions out;
  bool has_emissions = false;
  std::size_t child_indent = 0;  // of the first key under co2_eq_emissions
  std::string first_key;
  bool previous_opens_block = false;
  for (std::size_t i = key_index + 1; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (is_blank_or_comment(line)) continue;
    if (!is_indented(line)) break;  // the next top-level key
    const std::size_t indent = indentation(line);
    const std::string_view content = strip(line);
    const std::string_view leading = line.substr(0, indent);
    if (leading.find_first_not_of(' ') != std::string_view::npos)
      return Error{"co2_eq_emissions " + at_line(i) +
                   " is indented with a tab: YAML allows only spaces; indent its keys with spaces"};
    const std::size_t colon = content.find(':');
    const std::string_view key = content.substr(0, colon);
    if (first_key.empty()) {
      child_indent = indent;
      first_key = std::string(key);
    } else if (indent < child_indent) {
      return Error{"co2_eq_emissions " + at_line(i) + ": '" + std::string(key) + "' is indented less than '" +
                   first_key + "': indent every key under co2_eq_emissions by the same number of spaces"};
    } else if (indent > child_indent) {
      // Nested content of the previous key (a list, a long value) is skipped; a key indented deeper
      // than its siblings after a key that has a value is broken YAML.
      if (!previous_opens_block && looks_like_key(content))
        return Error{"co2_eq_emissions " + at_line(i) + ": '" + std::string(key) +
                     "' is indented more than '" + first_key +
                     "': indent every key under co2_eq_emissions by the same number of spaces"};
      continue;
    }
    if (colon == std::string_view::npos) {
      previous_opens_block = false;
      continue;
    }
    const std::string_view value = content.substr(colon + 1);
    previous_opens_block = opens_block(value);
    if (key == "emissions") {
      auto grams = parse_grams(scalar(value), "co2_eq_emissions emissions " + at_line(i));
      if (!grams) return grams.error();
      out.emissions_g = grams.value();
      has_emissions = true;
    } else if (key == "source") {
      out.source = optional_text(value);
    } else if (key == "training_type") {
      out.training_type = optional_text(value);
    } else if (key == "geographical_location") {
      out.geographical_location = optional_text(value);
    } else if (key == "hardware_used") {
      out.hardware_used = optional_text(value);
    }
  }
  if (!has_emissions)
    return Error{"co2_eq_emissions " + at_line(key_index) +
                 " has no emissions figure: give the grams as `co2_eq_emissions: 1200`, or as "
                 "`emissions: 1200` indented under it"};
  return std::optional<ReportedEmissions>(std::move(out));
}

}  // namespace

Result<std::optional<ReportedEmissions>> read_card_emissions(std::string_view card_text) {
  if (card_text.starts_with("\xEF\xBB\xBF")) card_text.remove_prefix(3);
  std::vector<std::string_view> lines = split_lines(card_text);
  const std::optional<std::size_t> close = front_matter_close(lines);
  if (!close) {
    // Not front matter (as the Python reader and the card writer see it), unless it is meant to be:
    // a `---` first line and a co2_eq_emissions key below it, never closed.
    const bool opened = !lines.empty() && strip(lines[0]) == "---";
    if (opened && std::any_of(lines.begin() + 1, lines.end(), is_emissions_key))
      return Error{
          "the front matter that starts with '---' on line 1 is never closed: end the metadata with a "
          "line '---' before the card's text"};
    return std::optional<ReportedEmissions>();
  }
  lines.resize(*close);  // the front matter, after its first line
  for (std::size_t i = 1; i < lines.size(); ++i) {
    if (!is_emissions_key(lines[i])) continue;
    const std::string_view rest = strip(lines[i].substr(lines[i].find(':') + 1));
    if (!rest.empty() && rest.front() != '#') {  // the number form
      auto grams = parse_grams(scalar(rest), "co2_eq_emissions " + at_line(i));
      if (!grams) return grams.error();
      ReportedEmissions out;
      out.emissions_g = grams.value();
      return std::optional<ReportedEmissions>(std::move(out));
    }
    return read_mapping(lines, i);
  }
  return std::optional<ReportedEmissions>();
}

}  // namespace carbonmeter::hub
