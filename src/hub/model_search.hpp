// Reads the listed cards and keeps the models whose reported emissions are within the thresholds.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "hub/card_listing.hpp"
#include "hub/reported_emissions.hpp"

namespace carbonmeter::hub {

struct ModelEmissions {
  std::string model_id;
  std::string path;  // the card, or the model's Hub URL
  ReportedEmissions reported;
};

// What a set of cards gave.
struct SearchTally {
  std::vector<ModelEmissions> reporting;  // every card that reports emissions (before thresholds)
  std::vector<UnreadableCard> unreadable;
  int without_emissions = 0;  // cards with no front matter, or no co2_eq_emissions
  int without_card = 0;       // cached models with no README.md
};

// Inclusive bounds, in grams; nullopt: no bound.
struct Thresholds {
  std::optional<double> min_g;
  std::optional<double> max_g;
  bool contain(double emissions_g) const;
};

enum class SortOrder { kName, kEmissions };

// Reads each card file (following links) and sorts it into the tally; the listing's unreadable
// entries and models without a card are carried over.
SearchTally read_cards(const CardListing& listing);

// Adds what one card's text reports to the tally.
void tally_card(SearchTally& tally, const CardRef& card, const std::string& text);

// The models within the thresholds, sorted (by model id, or by emissions then model id).
std::vector<ModelEmissions> select_models(const std::vector<ModelEmissions>& reporting,
                                          const Thresholds& within, SortOrder order, bool descending);

}  // namespace carbonmeter::hub
