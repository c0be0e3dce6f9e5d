#include "hub/model_search.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "hub/card_front_matter.hpp"

namespace carbonmeter::hub {

bool Thresholds::contain(double emissions_g) const {
  return (!min_g || emissions_g >= *min_g) && (!max_g || emissions_g <= *max_g);
}

void tally_card(SearchTally& tally, const CardRef& card, const std::string& text) {
  auto reported = read_card_emissions(text);
  if (!reported) {
    tally.unreadable.push_back({card.path, reported.error().message});
  } else if (!reported.value()) {
    ++tally.without_emissions;
  } else {
    tally.reporting.push_back({card.model_id, card.path, *reported.value()});
  }
}

SearchTally read_cards(const CardListing& listing) {
  SearchTally tally;
  tally.unreadable = listing.unreadable;
  tally.without_card = listing.models_without_card;
  for (const CardRef& card : listing.cards) {
    std::ifstream in(card.path, std::ios::binary);
    if (!in) {
      tally.unreadable.push_back({card.path, std::string("cannot open the card: ") + std::strerror(errno)});
      continue;
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
      tally.unreadable.push_back({card.path, std::string("cannot read the card: ") + std::strerror(errno)});
      continue;
    }
    tally_card(tally, card, text.str());
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
