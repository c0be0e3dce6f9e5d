// The cards a search reads: found in the Hugging Face cache (hf_cache.hpp) or in a folder of cards
// (cards_folder.hpp).
#pragma once

#include <string>
#include <vector>

namespace carbonmeter::hub {

struct CardRef {
  std::string model_id;  // "org/name", or "name"
  std::string path;      // the card (a README.md or another .md), or the model's Hub URL
};

// A card that could not be read, or whose co2_eq_emissions is malformed.
struct UnreadableCard {
  std::string path;
  std::string reason;  // what is wrong and what to do
};

struct CardListing {
  std::vector<CardRef> cards;
  std::vector<UnreadableCard> unreadable;  // found, but unusable (a link to a missing blob)
  int models_without_card = 0;             // cached models with no README.md
};

}  // namespace carbonmeter::hub
