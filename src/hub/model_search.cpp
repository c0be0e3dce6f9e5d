#include "hub/model_search.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "core/text_file.hpp"
#include "hub/card_front_matter.hpp"

namespace carbonmeter::hub {

bool Thresholds::contain(double emissions_g) const {
  return (!min_g || emissions_g >= *min_g) && (!max_g || emissions_g <= *max_g);
}

void add_to_tally(SearchTally& tally, const CardRef& card,
                  const Result<std::optional<ReportedEmissions>>& reported, std::string_view reason_suffix) {
  if (!reported)
    tally.unreadable.push_back({card.path, reported.error().message + std::string(reason_suffix)});
  else if (!reported.value())
    ++tally.without_emissions;
  else
    tally.reporting.push_back({card.model_id, card.path, *reported.value()});
}

// Model cards are a few KiB; the largest on the Hub are below 1 MiB.
constexpr std::uint64_t kMaxModelCardBytes = std::uint64_t{16} << 20;

SearchTally read_cards(const CardListing& listing) {
  SearchTally tally;
  tally.unreadable = listing.unreadable;
  tally.without_card = listing.models_without_card;
  for (const CardRef& card : listing.cards) {
    const Result<std::string> text = read_text_file(card.path, kMaxModelCardBytes);
    if (!text)
      tally.unreadable.push_back({card.path, text.error().message + (::access(card.path.c_str(), R_OK) != 0
                                                                         ? ": check the card's permissions"
                                                                         : ": is it the right file?")});
    else
      add_to_tally(tally, card, read_card_emissions(text.value()));
  }
  return tally;
}

std::vector<ModelEmissions> select_models(const std::vector<ModelEmissions>& reporting,
                                          const Thresholds& within, SortOrder order, bool descending) {
  std::vector<ModelEmissions> selected;
  for (const ModelEmissions& model : reporting)
    if (within.contain(model.reported.emissions_g)) selected.push_back(model);
  const auto by_name = [](const ModelEmissions& a, const ModelEmissions& b) {
    return a.model_id != b.model_id ? a.model_id < b.model_id : a.path < b.path;
  };
  const auto by_emissions = [&by_name](const ModelEmissions& a, const ModelEmissions& b) {
    if (a.reported.emissions_g != b.reported.emissions_g)
      return a.reported.emissions_g < b.reported.emissions_g;
    return by_name(a, b);
  };
  if (order == SortOrder::kEmissions)
    std::stable_sort(selected.begin(), selected.end(), by_emissions);
  else
    std::stable_sort(selected.begin(), selected.end(), by_name);
  if (descending) std::reverse(selected.begin(), selected.end());
  return selected;
}

}  // namespace carbonmeter::hub
