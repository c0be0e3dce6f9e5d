#include "sensors/cpu_tdp_table.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string_view>

#include "core/csv.hpp"

namespace carbonmeter {
namespace {

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    std::size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i > start) words.emplace_back(text.substr(start, i - start));
  }
  return words;
}

double parse_double_or(const std::string& text, double fallback) {
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  return end == text.c_str() ? fallback : value;
}

}  // namespace

std::string normalize_cpu_name(const std::string& name) {
  std::string lower;
  for (unsigned char c : name) lower += static_cast<char>(std::tolower(c));
  // Trademark marks become spaces: "(r)", "(tm)", ®, ™ and zero-width spaces.
  std::string text;
  for (std::size_t i = 0; i < lower.size();) {
    std::size_t skip = 0;
    for (std::string_view mark : {"(r)", "(tm)", "\xC2\xAE", "\xE2\x84\xA2", "\xE2\x80\x8B"})
      if (std::string_view(lower).substr(i, mark.size()) == mark) skip = mark.size();
    if (skip) {
      text += ' ';
      i += skip;
    } else {
      text += lower[i++];
    }
  }
  std::string out;
  const std::vector<std::string> words = split_words(text);
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (word == "cpu" || word == "processor") continue;
    if (word == "with" || word == "w/") break;  // "with Radeon Graphics"
    if (word[0] == '@') {                       // "@ 2.30GHz" or "@2.30GHz"
      if (word == "@") ++i;
      continue;
    }
    const auto dash = word.find("-core");
    if (dash != std::string::npos && dash > 0 && dash + 5 == word.size() &&
        std::all_of(word.begin(), word.begin() + static_cast<long>(dash), ::isdigit))
      continue;
    out += (out.empty() ? "" : " ") + word;
  }
  return out;
}

Result<CpuTdpTable> CpuTdpTable::load(const std::string& path) {
  auto table = read_csv_file(path);
  if (!table) return table.error();
  const CsvTable& csv = table.value();
  int name = csv.column("name"), tdp = csv.column("tdp_w"), cores = csv.column("cores"),
      threads = csv.column("threads"), source = csv.column("source");
  if (name < 0 || tdp < 0) return Error{path + ": expected columns name,tdp_w (and cores,threads,source)"};
  CpuTdpTable out;
  // The shipped table holds normalised names already (data/SOURCES.md): normalising 5000 names
  // again would dominate start-up. Other tables are normalised here.
  bool normalized_names = true;
  for (std::size_t i = 0; i < csv.rows.size() && i < 50 && normalized_names; ++i) {
    const auto& row = csv.rows[i];
    normalized_names =
        static_cast<int>(row.size()) > name &&
        row[static_cast<std::size_t>(name)] == normalize_cpu_name(row[static_cast<std::size_t>(name)]);
  }
  out.specs_.reserve(csv.rows.size());
  out.normalized_.reserve(csv.rows.size());
  for (const auto& row : csv.rows) {
    auto cell = [&](int index) -> const std::string& {
      static const std::string empty;
      return index >= 0 && index < static_cast<int>(row.size()) ? row[static_cast<std::size_t>(index)]
                                                                : empty;
    };
    CpuSpec spec;
    spec.tdp_w = parse_double_or(cell(tdp), 0.0);
    if (cell(name).empty() || spec.tdp_w <= 0) continue;
    spec.name = cell(name);
    spec.cores = static_cast<int>(parse_double_or(cell(cores), 0));
    spec.threads = static_cast<int>(parse_double_or(cell(threads), 0));
    spec.source = cell(source);
    out.normalized_.push_back(normalized_names ? spec.name : normalize_cpu_name(spec.name));
    out.specs_.push_back(std::move(spec));
  }
  return out;
}

std::optional<CpuSpec> CpuTdpTable::match(const std::string& model_name) const {
  const std::string wanted = normalize_cpu_name(model_name);
  if (wanted.empty()) return std::nullopt;
  for (std::size_t i = 0; i < specs_.size(); ++i)
    if (normalized_[i] == wanted) return specs_[i];
  const std::vector<std::string> wanted_words = split_words(wanted);
  auto is_wanted = [&](std::string_view word) {
    return std::find(wanted_words.begin(), wanted_words.end(), word) != wanted_words.end();
  };
  std::optional<std::size_t> best;
  std::size_t best_words = 0;
  for (std::size_t i = 0; i < specs_.size(); ++i) {
    // Every word of the entry must appear in the model's name, and one must name a model number.
    // Vendor and brand words may be left out ("xeon gold 6248", "i9-9900k", "epyc 7763").
    std::string_view rest = normalized_[i];
    std::size_t words = 0;
    bool all_present = true, names_model = false;
    while (all_present && !rest.empty()) {
      const std::size_t space = rest.find(' ');
      const std::string_view word = rest.substr(0, space);
      rest.remove_prefix(space == std::string_view::npos ? rest.size() : space + 1);
      if (word.empty()) continue;
      if ((word == "intel" || word == "amd" || word == "core") && !is_wanted(word)) continue;
      ++words;
      all_present = is_wanted(word);
      names_model = names_model ||
                    std::any_of(word.begin(), word.end(), [](unsigned char c) { return std::isdigit(c); });
    }
    if (!all_present || !names_model) continue;
    if (!best || words > best_words ||
        (words == best_words && normalized_[i].size() > normalized_[*best].size())) {
      best = i;
      best_words = words;
    }
  }
  if (best) return specs_[*best];
  return std::nullopt;
}

}  // namespace carbonmeter
