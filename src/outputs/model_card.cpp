#include "outputs/model_card.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <string_view>
#include <vector>

#include "outputs/front_matter.hpp"

namespace carbonmeter {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

std::string yaml_string(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n' || c == '\r') {
      out += ' ';
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string block(const ModelCardEmissions& e, const std::string& eol) {
  std::string out = "co2_eq_emissions:" + eol;
  out += "  emissions: " + yaml_plain_number(e.emissions_g) + eol;
  out += "  source: " + yaml_string(e.source) + eol;
  if (!e.training_type.empty()) out += "  training_type: " + yaml_string(e.training_type) + eol;
  if (!e.geographical_location.empty())
    out += "  geographical_location: " + yaml_string(e.geographical_location) + eol;
  if (!e.hardware_used.empty()) out += "  hardware_used: " + yaml_string(e.hardware_used) + eol;
  return out;
}

// The card split into lines that keep their own line endings: \n, \r\n or a lone \r, as the card
// reader (hub/card_front_matter.cpp) splits them, so that both see the same lines.
std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find_first_of("\r\n", start);
    if (end == std::string::npos)
      end = text.size() - 1;
    else if (text[end] == '\r' && end + 1 < text.size() && text[end + 1] == '\n')
      ++end;
    lines.emplace_back(text.substr(start, end - start + 1));
    start = end + 1;
  }
  return lines;
}

bool has_line_ending(std::string_view line) {
  return !line.empty() && (line.back() == '\n' || line.back() == '\r');
}

std::string_view content(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  return line;
}

// Python's whitespace (str.strip()), as the card reader strips lines: a line of only these is
// blank to it.
constexpr std::string_view kSpaces = " \t\n\r\v\f";

std::string_view stripped(std::string_view text) {
  const std::size_t first = text.find_first_not_of(kSpaces);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kSpaces) - first + 1);
}

bool blank_or_comment(std::string_view line) {
  const std::string_view text = stripped(line);
  return text.empty() || text.front() == '#';
}

// The last line of the value of the key at lines[key]: its indented lines (and a block sequence's
// `- ` items, which YAML allows at the key's own indentation); blank and comment lines between them
// too (a comment, even unindented, does not end a YAML block; nor does it for the card reader), not
// after the last.
std::size_t block_end(const std::vector<std::string>& lines, std::size_t key, std::size_t close) {
  std::size_t last = key;
  for (std::size_t j = key + 1; j < close; ++j) {
    const std::string_view next = content(lines[j]);
    if (blank_or_comment(next)) continue;
    if (next[0] != ' ' && next[0] != '\t' && !(next[0] == '-' && (next.size() == 1 || next[1] == ' '))) break;
    last = j;
  }
  return last;
}

// The entries of an old block that the new one does not write (an earlier training_type, a key
// of the user's own), kept with their lines and re-indented to the new block's two spaces. What
// the card reader refuses (card_front_matter.cpp) is left out rather than copied into the new
// block: lines indented with tabs or less than the first key, and a key indented deeper than its
// siblings after a key that has a value.
std::string kept_entries(const std::vector<std::string>& lines, std::size_t key, std::size_t end,
                         const ModelCardEmissions& e) {
  std::vector<std::string> written{"emissions", "source"};
  if (!e.training_type.empty()) written.push_back("training_type");
  if (!e.geographical_location.empty()) written.push_back("geographical_location");
  if (!e.hardware_used.empty()) written.push_back("hardware_used");
  auto looks_like_key = [](std::string_view line) {
    const std::string_view text = stripped(line);
    const std::size_t colon = text.find(':');
    return colon != std::string_view::npos && colon > 0 &&
           (colon + 1 == text.size() || text[colon + 1] == ' ' || text[colon + 1] == '\t');
  };
  std::string kept;
  std::size_t child_indent = std::string::npos;
  bool keep = false;
  bool opens_block = false;  // the current entry's value is the block below it
  for (std::size_t j = key + 1; j <= end; ++j) {
    const std::string_view text = content(lines[j]);
    if (stripped(text).empty()) continue;
    const std::size_t indent = text.find_first_not_of(" \t");
    const bool comment = blank_or_comment(text);
    if (text.substr(0, indent).find('\t') != std::string_view::npos || indent == 0 ||
        (child_indent != std::string::npos && indent < child_indent)) {
      if (!comment) keep = false;
      continue;
    }
    if (comment) {
      if (keep && child_indent != std::string::npos) kept += "  " + lines[j].substr(child_indent);
      continue;
    }
    if (child_indent == std::string::npos) child_indent = indent;
    if (indent == child_indent) {
      const std::size_t colon = text.find(':', indent);
      if (colon == std::string_view::npos) return "";  // not a mapping (the number form): nothing to keep
      std::string_view name = text.substr(indent, colon - indent);
      name.remove_prefix(std::min(name.size(), name.find_first_not_of(kSpaces)));  // the reader's key
      keep = std::find(written.begin(), written.end(), name) == written.end();
      opens_block = blank_or_comment(text.substr(colon + 1));
    } else if (!opens_block && looks_like_key(text)) {
      continue;  // a key deeper than its siblings after a key with a value: broken YAML
    }
    if (keep) kept += "  " + lines[j].substr(child_indent);
  }
  return kept;
}

}  // namespace

std::string yaml_plain_number(double value) {
  if (std::isnan(value)) return ".nan";
  if (std::isinf(value)) return value > 0 ? ".inf" : "-.inf";
  // Ten significant digits (far finer than any measurement here), then the shortest fixed form
  // that reads back as that: no exponent, no trailing zeros.
  const std::string rounded_text = fmt::format("{:.10g}", value);
  double rounded = value;
  std::from_chars(rounded_text.data(), rounded_text.data() + rounded_text.size(), rounded);
  char buffer[512];
  const auto written = std::to_chars(buffer, buffer + sizeof buffer, rounded, std::chars_format::fixed);
  if (written.ec != std::errc()) return rounded_text;  // cannot happen: 512 holds any double
  std::string out(buffer, written.ptr);
  return out == "-0" ? "0" : out;
}

std::string update_model_card(const std::string& card, const ModelCardEmissions& emissions) {
  // A BOM stays where it is, in front of everything.
  const std::string_view bom = std::string_view(card).substr(0, kBom.size()) == kBom ? kBom : "";
  const std::string_view body = std::string_view(card).substr(bom.size());
  const std::vector<std::string> lines = lines_of(body);
  // Never a lone \r: written before a line that starts with \n, it would make one line of two.
  std::string eol = "\n";
  if (!lines.empty() && lines[0].size() >= 2 && lines[0].substr(lines[0].size() - 2) == "\r\n")
    eol = "\r\n";
  else if ((lines.empty() || !has_line_ending(lines[0])) && body.find("\r\n") != std::string_view::npos)
    eol = "\r\n";
  std::vector<std::string_view> contents;
  for (const std::string& line : lines) contents.push_back(content(line));
  // Front matter as every reader finds it (front_matter.hpp), when its first line is `---` itself:
  // an indented one is left as it is, and a new front matter goes on top.
  const bool opens = !lines.empty() && has_line_ending(lines[0]) && lines[0].starts_with("---");
  const std::optional<std::size_t> close = opens ? front_matter_close(contents) : std::nullopt;
  if (!close) {
    // No front matter (the first line is not `---`, or it is never closed, which is not front
    // matter either): create one at the top; the card follows, byte for byte.
    return std::string(bom) + "---" + eol + block(emissions, eol) + "---" + eol + std::string(body);
  }
  std::string out = std::string(bom) + lines[0];
  bool replaced = false;
  for (std::size_t i = 1; i < *close; ++i) {
    if (is_emissions_key(contents[i])) {
      // A duplicate top-level key is invalid YAML, and readers disagree on which one wins: the
      // first is replaced by the new block and any later one is removed (with its value), so the
      // card ends with exactly one co2_eq_emissions.
      const std::size_t end = block_end(lines, i, *close);
      if (!replaced) out += block(emissions, eol) + kept_entries(lines, i, end, emissions);
      replaced = true;
      i = end;
      continue;
    }
    out += lines[i];
  }
  if (!replaced) out += block(emissions, eol);
  for (std::size_t i = *close; i < lines.size(); ++i) out += lines[i];
  return out;
}

}  // namespace carbonmeter
