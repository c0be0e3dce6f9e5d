#include "estimate/accelerator_name.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace carbonmeter {
namespace {

// Words people add or leave out without changing which device they mean.
constexpr std::array<std::string_view, 20> kIgnoredWords{
    "nvidia",      "amd",  "intel", "google", "habana", "geforce", "tesla",  "radeon", "instinct", "cloud",
    "accelerator", "card", "chip",  "core",   "gpu",    "per",     "tensor", "the",    "with",     "ai"};

bool ignored(std::string_view word) {
  return std::find(kIgnoredWords.begin(), kIgnoredWords.end(), word) != kIgnoredWords.end();
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_digit);
}

bool memory_unit(std::string_view text) { return text == "gb" || text == "g" || text == "gib"; }

// "80gb" -> 80; "80" followed by "gb" is handled by the caller.
std::optional<int> memory_word(std::string_view word) {
  std::size_t digits = 0;
  while (digits < word.size() && is_digit(word[digits])) ++digits;
  if (digits == 0 || digits > 4 || !memory_unit(word.substr(digits))) return std::nullopt;
  return std::stoi(std::string(word.substr(0, digits)));
}

std::vector<std::string> words_of(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) && u < 128) {
      word += static_cast<char>(std::tolower(u));
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

// Splits a word where a run of three or more letters meets digits ("rtx4090" -> rtx, 4090;
// "sxm2" -> sxm, 2; "h100nvl" -> h100, nvl) and keeps one- or two-letter runs on their number,
// because those are part of a model name: h100, mi300x, a10g, v100s, 1080ti.
void split_runs(const std::string& word, std::vector<std::string>& out) {
  std::vector<std::string> runs;
  for (char c : word) {
    if (runs.empty() || is_digit(c) != is_digit(runs.back().back())) runs.emplace_back();
    runs.back() += c;
  }
  auto short_letters = [](const std::string& run) { return !is_digit(run[0]) && run.size() < 3; };
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (i > 0 && (short_letters(runs[i - 1]) || short_letters(runs[i])))
      out.back() += runs[i];
    else
      out.push_back(runs[i]);
  }
}

// "mi300" also names "mi300x" and "v100" also "v100s": a number may gain a letter suffix.
bool token_matches(const std::string& wanted, const std::string& token) {
  if (wanted == token) return true;
  if (token.size() <= wanted.size() || !is_digit(wanted.back()) ||
      token.compare(0, wanted.size(), wanted) != 0)
    return false;
  return std::none_of(token.begin() + static_cast<std::ptrdiff_t>(wanted.size()), token.end(), is_digit);
}

}  // namespace

AcceleratorName normalise_accelerator_name(std::string_view text) {
  AcceleratorName name;
  const std::vector<std::string> words = words_of(text);
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (auto gb = memory_word(word)) {
      name.memory_gb = gb;
      continue;
    }
    if (all_digits(word) && word.size() <= 4 && i + 1 < words.size() && memory_unit(words[i + 1])) {
      name.memory_gb = std::stoi(word);
      ++i;
      continue;
    }
    if (ignored(word)) continue;
    split_runs(word, name.tokens);
  }
  for (const std::string& token : name.tokens) name.squashed += token;
  return name;
}

bool tokens_included(const AcceleratorName& query, const AcceleratorName& name) {
  return std::all_of(query.tokens.begin(), query.tokens.end(), [&](const std::string& wanted) {
    return std::any_of(name.tokens.begin(), name.tokens.end(),
                       [&](const std::string& candidate) { return token_matches(wanted, candidate); });
  });
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

double name_similarity(const AcceleratorName& a, const AcceleratorName& b) {
  const std::size_t longest = std::max(a.squashed.size(), b.squashed.size());
  if (longest == 0) return 0.0;
  const double spelling =
      1.0 - static_cast<double>(edit_distance(a.squashed, b.squashed)) / static_cast<double>(longest);
  std::size_t shared = 0;
  std::vector<std::string> all = b.tokens;
  for (const std::string& token : a.tokens) {
    if (std::find(b.tokens.begin(), b.tokens.end(), token) != b.tokens.end())
      ++shared;
    else
      all.push_back(token);
  }
  const double overlap = all.empty() ? 0.0 : static_cast<double>(shared) / static_cast<double>(all.size());
  return 0.6 * spelling + 0.4 * overlap;
}

}  // namespace carbonmeter
