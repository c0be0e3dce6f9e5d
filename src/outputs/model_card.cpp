#include "outputs/model_card.hpp"

#include <fmt/format.h>

#include <vector>

namespace carbonmeter {
namespace {

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
  out += fmt::format("  emissions: {:.6g}{}", e.emissions_g, eol);
  out += "  source: " + yaml_string(e.source) + eol;
  if (!e.training_type.empty()) out += "  training_type: " + yaml_string(e.training_type) + eol;
  if (!e.geographical_location.empty())
    out += "  geographical_location: " + yaml_string(e.geographical_location) + eol;
  if (!e.hardware_used.empty()) out += "  hardware_used: " + yaml_string(e.hardware_used) + eol;
  return out;
}

// The card split into lines that keep their own line endings.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size() - 1;
    lines.push_back(text.substr(start, end - start + 1));
    start = end + 1;
  }
  return lines;
}

std::string content(const std::string& line) {
  std::string out = line;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

}  // namespace

std::string update_model_card(const std::string& card, const ModelCardEmissions& emissions) {
  const std::string eol = card.find("\r\n") != std::string::npos ? "\r\n" : "\n";
  const std::vector<std::string> lines = lines_of(card);
  const bool has_front_matter =
      !lines.empty() && (content(lines[0]) == "---" || content(lines[0]) == "\xEF\xBB\xBF---");
  std::size_t close = 0;
  if (has_front_matter) {
    for (std::size_t i = 1; i < lines.size(); ++i)
      if (content(lines[i]) == "---") {
        close = i;
        break;
      }
  }
  if (!has_front_matter || close == 0) {
    // No front matter (or an unclosed one, which is not front matter): create it above the card.
    return "---" + eol + block(emissions, eol) + "---" + eol + card;
  }
  std::string out;
  out += lines[0];
  bool replaced = false;
  for (std::size_t i = 1; i < close; ++i) {
    if (!replaced && content(lines[i]).rfind("co2_eq_emissions:", 0) == 0) {
      out += block(emissions, eol);
      replaced = true;
      // The old block: its indented lines (blank lines between them too, not after the last).
      std::size_t last = i;
      for (std::size_t j = i + 1; j < close; ++j) {
        const std::string next = content(lines[j]);
        if (next.empty()) continue;
        if (next[0] != ' ' && next[0] != '\t') break;
        last = j;
      }
      i = last;
      continue;
    }
    out += lines[i];
  }
  if (!replaced) out += block(emissions, eol);
  for (std::size_t i = close; i < lines.size(); ++i) out += lines[i];
  return out;
}

}  // namespace carbonmeter
