// Reads the listed cards and keeps the models whose reported emissions are within the thresholds.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "carbonmeter/result.hpp"
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
  bool truncated = false;     // --online stopped at its --limit while the Hub had more models
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

// Sorts what one card reports (read from its file, or from the Hub's card data) into the tally: a
// figure, nothing, or an error that makes the card unreadable (the reason: the error's message,
// then `reason_suffix`).
void add_to_tally(SearchTally& tally, const CardRef& card,
                  const Result<std::optional<ReportedEmissions>>& reported,
                  std::string_view reason_suffix = "");

// The models within the thresholds, sorted (by model id, or by emissions then model id).
std::vector<ModelEmissions> select_models(const std::vector<ModelEmissions>& reporting,
                                          const Thresholds& within, SortOrder order, bool descending);

}  // namespace carbonmeter::hub
