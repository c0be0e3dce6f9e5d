// AcceleratorTable::find_accelerator and describe(): which rows a typed name can mean.
#include <algorithm>

#include "estimate/accelerator_table.hpp"

namespace carbonmeter {
namespace {

constexpr std::size_t kSuggestions = 3;
constexpr double kMinSimilarity = 0.1;  // an unknown name still gets the closest few
constexpr std::size_t kListed = 8;      // names describe() lists before "and N more"

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < kListed; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > kListed) out += " and " + std::to_string(names.size() - kListed) + " more";
  return out;
}

bool memory_fits(const AcceleratorName& query, const AcceleratorName& name) {
  return !query.memory_gb || query.memory_gb == name.memory_gb;
}

}  // namespace

AcceleratorMatch AcceleratorTable::find_accelerator(std::string_view query) const {
  const AcceleratorName wanted = normalise_accelerator_name(query);
  AcceleratorMatch match;
  if (wanted.tokens.empty()) return match;  // nothing but vendor words or a memory size

  // Tier 1: a name or alias spelled the same; tier 2: a name or alias holding every query token.
  std::vector<std::size_t> spelled;
  std::vector<std::size_t> containing;
  std::vector<std::size_t> without_memory;
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    bool exact = false;
    bool contains = false;
    bool ignoring_memory = false;
    for (const AcceleratorName& name : names_[i]) {
      const bool same = name.squashed == wanted.squashed;
      const bool holds = same || tokens_included(wanted, name);
      ignoring_memory = ignoring_memory || holds;
      if (!memory_fits(wanted, name)) continue;
      exact = exact || same;
      contains = contains || holds;
    }
    if (exact) spelled.push_back(i);
    if (contains) containing.push_back(i);
    if (ignoring_memory) without_memory.push_back(i);
  }
  const std::vector<std::size_t>& found = spelled.empty() ? containing : spelled;

  if (found.empty()) {
    if (!without_memory.empty()) {  // the model exists, not with that memory size
      for (std::size_t i : without_memory) match.candidates.push_back(rows_[i].name);
      return match;
    }
    std::vector<std::pair<double, std::size_t>> scored;
    for (std::size_t i = 0; i < rows_.size(); ++i) {
      double best = 0.0;
      for (const AcceleratorName& name : names_[i]) best = std::max(best, name_similarity(wanted, name));
      if (best >= kMinSimilarity) scored.emplace_back(best, i);
    }
    std::stable_sort(scored.begin(), scored.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (std::size_t k = 0; k < scored.size() && k < kSuggestions; ++k)
      match.candidates.push_back(rows_[scored[k].second].name);
    return match;
  }

  const Accelerator& first = rows_[found.front()];
  const bool same_power = std::all_of(found.begin(), found.end(),
                                      [&](std::size_t i) { return rows_[i].power_w == first.power_w; });
  if (found.size() > 1 && !same_power) {
    match.kind = AcceleratorMatchKind::ambiguous;
    for (std::size_t i : found) match.candidates.push_back(rows_[i].name);
    return match;
  }
  match.kind = AcceleratorMatchKind::unique;
  match.accelerator = first;
  if (found.size() > 1) {
    match.assumed = true;
    for (std::size_t i : found) match.candidates.push_back(rows_[i].name);
  }
  return match;
}

std::string describe(const AcceleratorMatch& match) {
  switch (match.kind) {
    case AcceleratorMatchKind::unique: {
      std::string text = match.accelerator ? match.accelerator->name : "";
      if (!match.assumed) return text;
      std::vector<std::string> others;
      for (const std::string& name : match.candidates)
        if (name != text) others.push_back(name);
      return text + " (assumed; same power as " + join(others) + ")";
    }
    case AcceleratorMatchKind::ambiguous:
      return "ambiguous: did you mean " + join(match.candidates) + "?";
    case AcceleratorMatchKind::unknown:
      break;
  }
  if (match.candidates.empty()) return "unknown: no similar name";
  return "unknown: closest: " + join(match.candidates);
}

}  // namespace carbonmeter
